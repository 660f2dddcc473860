import { defineCommand } from "citty";
import { checkUpstream, EgressConfigError } from "../agent/egress-policy.ts";
import { type ConfigEntry, getConfig, listConfig, setConfigValue } from "../config/edit.ts";
import { resolveHome } from "../config/home.ts";
import type { Config } from "../config/keys.ts";
import { configPath } from "../config/load.ts";
import { formatTomlValue } from "../config/toml-edit.ts";
import { processAlive, readPidFile } from "../core/pid-file.ts";
import { CliError, EXIT, type ExitCode, exitCodeOf, formatError } from "./errors.ts";

/** `carapace config get|set|list|path`: reads and edits $CARAPACE_HOME/config.toml; no core needed. */

export interface Output {
  out(line: string): void;
  err(line: string): void;
}

const consoleOutput: Output = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

/** Strings print bare so `$(carapace config get runtime.image)` works in scripts; the rest as TOML. */
function plain(value: ConfigEntry["value"]): string {
  return typeof value === "string" ? value : formatTomlValue(value);
}

function lines(entries: ConfigEntry[]): string[] {
  const width = Math.max(0, ...entries.map((e) => e.key.length));
  const marks = { default: "(default)", user: "(set)", inherited: "(inherited from [security])" } as const;
  return entries.map((e) => `${e.key.padEnd(width)} = ${formatTomlValue(e.value)}  ${marks[e.source]}`);
}

function fail(error: unknown, io: Output): ExitCode {
  io.err(formatError(error));
  return exitCodeOf(error);
}

/** Exit codes: 0 printed, 1 config.toml is unreadable or invalid, 2 unknown key. */
export function runConfigGet(home: string, key: string, json: boolean, io: Output = consoleOutput): ExitCode {
  try {
    const entries = getConfig(home, key);
    const single = entries.length === 1 && entries[0]?.key === key ? entries[0] : undefined;
    if (json) io.out(JSON.stringify(single ?? entries));
    else if (single !== undefined) io.out(plain(single.value));
    else for (const line of lines(entries)) io.out(line);
    return EXIT.ok;
  } catch (error) {
    return fail(error, io);
  }
}

/** Refuses a change after which the egress proxy could not start: the upstream must be in the allowlist. */
function checkNetwork(next: Config): void {
  try {
    checkUpstream(next.network.upstream_url, next.network.upstream_allowlist);
  } catch (error) {
    if (!(error instanceof EgressConfigError)) throw error;
    throw new CliError("CONFIG", `${error.what}; config.toml was not changed`, error.fix, EXIT.usage);
  }
}

/** The pid of the core running on this home, if one runs. */
function runningCorePid(home: string): number | null {
  const pid = readPidFile(home);
  return pid !== null && processAlive(pid) ? pid : null;
}

/** Exit codes: 0 written, 1 config.toml is unreadable or invalid or cannot be written, 2 unknown key or invalid value. */
export function runConfigSet(
  home: string,
  key: string,
  value: string,
  io: Output = consoleOutput,
  json = false,
): ExitCode {
  try {
    const result = setConfigValue(home, key, value, checkNetwork);
    // The core reads config.toml once, at start.
    const pid = runningCorePid(home);
    if (json)
      io.out(
        JSON.stringify({
          key: result.ref.name,
          value: result.value,
          path: result.path,
          created: result.created,
          applies: pid === null ? "at the next start" : "after a restart",
          core_pid: pid,
        }),
      );
    else io.out(`${result.ref.name} = ${formatTomlValue(result.value)}`);
    if (pid !== null)
      io.err(
        `The running core (pid ${pid}) keeps the old value until it restarts: run \`carapace stop\`, then \`carapace start\`.`,
      );
    if (result.created) io.err(`Created ${result.path}.`);
    if (!result.preserved) {
      io.err(
        `Note: ${result.path} was rewritten from its data because this key is written in a form that cannot be edited in place (dotted keys or an inline table); its comments were not kept.`,
      );
    }
    return EXIT.ok;
  } catch (error) {
    return fail(error, io);
  }
}

/** Exit codes: 0 printed, 1 config.toml is unreadable or invalid. */
export function runConfigList(home: string, json: boolean, io: Output = consoleOutput): ExitCode {
  try {
    const entries = listConfig(home);
    if (json) io.out(JSON.stringify(entries));
    else for (const line of lines(entries)) io.out(line);
    return EXIT.ok;
  } catch (error) {
    return fail(error, io);
  }
}

export function runConfigPath(home: string, io: Output = consoleOutput): ExitCode {
  io.out(configPath(home));
  return EXIT.ok;
}

/** Resolving the home can fail (CARAPACE_HOME=~user/…); report it like any other error. */
function withHome(run: (home: string) => ExitCode): void {
  let home: string;
  try {
    home = resolveHome();
  } catch (error) {
    process.exitCode = fail(error, consoleOutput);
    return;
  }
  process.exitCode = run(home);
}

const jsonArg = { type: "boolean", description: "Print JSON", default: false } as const;

export const configGetCommand = defineCommand({
  meta: {
    name: "get",
    description:
      "Print a key's value (set or default), or every key of a table such as `security` or `groups.work`. Exit codes: 0 printed, 1 config.toml invalid, 2 unknown key.",
  },
  args: {
    key: { type: "positional", description: "Key such as runtime.engine or groups.work.policy", required: true },
    json: jsonArg,
  },
  run({ args }) {
    withHome((home) => runConfigGet(home, args.key, args.json));
  },
});

export const configSetCommand = defineCommand({
  meta: {
    name: "set",
    description:
      'Set a key in config.toml (created if missing, comments kept). Lists are JSON: \'["a","b"]\'.\n' +
      "A running core reads config.toml only when it starts: set says so, and the change applies after a restart.\n" +
      "A network change that leaves [network] upstream_url outside upstream_allowlist is refused.\n" +
      "Exit codes: 0 written, 1 config.toml invalid or not writable, 2 unknown key or invalid value (file untouched).",
  },
  args: {
    key: { type: "positional", description: "Key such as security.rate_limit_per_minute", required: true },
    value: { type: "positional", description: "New value", required: true },
    json: jsonArg,
  },
  run({ args }) {
    withHome((home) => runConfigSet(home, args.key, args.value, consoleOutput, args.json));
  },
});

export const configListCommand = defineCommand({
  meta: {
    name: "list",
    description:
      "Print every key with its value, marked (set) or (default). Exit codes: 0 printed, 1 config.toml invalid.",
  },
  args: { json: jsonArg },
  run({ args }) {
    withHome((home) => runConfigList(home, args.json));
  },
});

export const configPathCommand = defineCommand({
  meta: { name: "path", description: "Print the path of config.toml.\nExit codes: 0 printed." },
  run() {
    withHome((home) => runConfigPath(home));
  },
});

export const configCommand = defineCommand({
  meta: {
    name: "config",
    description: "Read and change $CARAPACE_HOME/config.toml (see docs/HOME.md for every key).",
  },
  subCommands: { get: configGetCommand, set: configSetCommand, list: configListCommand, path: configPathCommand },
});
