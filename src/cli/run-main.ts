/**
 * The `carapace` entry runner: citty parses and dispatches, this decides what the user sees.
 * citty's own runMain exits 1 on an unknown command and colours help even in a pipe; here
 * `--help` prints plain text off a terminal and exits 0, `--version` prints the version, and usage
 * errors (unknown command, missing or malformed argument) print the usage and one
 * `[CLI] Error: … Fix: …` line to stderr, then exit 2.
 */
import { type CommandDef, renderUsage, runCommand } from "citty";
import { EXIT, exitCodeOf, formatError, formatMessage } from "./errors.ts";
import { colourEnabled, configureOutput, stripAnsi } from "./output.ts";

// biome-ignore lint/suspicious/noExplicitAny: citty's command tree is heterogeneous in its args
type AnyCommand = CommandDef<any>;

async function resolve<T>(value: T | (() => T | Promise<T>) | Promise<T>): Promise<T> {
  return typeof value === "function" ? await (value as () => T | Promise<T>)() : await value;
}

/** The deepest command named by the leading words of `rawArgs`, its parent, and the words used. */
async function commandPath(
  root: AnyCommand,
  rawArgs: readonly string[],
): Promise<{ cmd: AnyCommand; parent?: AnyCommand; path: string[] }> {
  let cmd = root;
  let parent: AnyCommand | undefined;
  const path: string[] = [];
  for (const word of rawArgs) {
    if (word.startsWith("-")) break;
    const subs = (await resolve(cmd.subCommands)) as Record<string, AnyCommand> | undefined;
    const next = subs?.[word];
    if (next === undefined) break;
    parent = cmd;
    cmd = await resolve(next);
    path.push(word);
  }
  return parent === undefined ? { cmd, path } : { cmd, parent, path };
}

/** The command with its subcommands' descriptions cut to their first line, so the COMMANDS list stays a table. */
async function withShortSubDescriptions(cmd: AnyCommand): Promise<AnyCommand> {
  const subs = (await resolve(cmd.subCommands)) as Record<string, AnyCommand> | undefined;
  if (subs === undefined) return cmd;
  const short: Record<string, AnyCommand> = {};
  for (const [name, sub] of Object.entries(subs)) {
    const resolved = await resolve(sub);
    const meta = await resolve(resolved.meta);
    short[name] = { ...resolved, meta: { ...meta, description: meta?.description?.split("\n")[0] ?? "" } };
  }
  return { ...cmd, subCommands: short };
}

async function usageText(root: AnyCommand, rawArgs: readonly string[], colour: boolean): Promise<string> {
  const { cmd, parent } = await commandPath(root, rawArgs);
  const text = await renderUsage(await withShortSubDescriptions(cmd), parent);
  const trimmed = text.replace(/[ \t]+$/gm, "");
  return colour ? trimmed : stripAnsi(trimmed);
}

function isCittyUsageError(error: unknown): error is Error & { code: string } {
  return error instanceof Error && error.name === "CLIError" && typeof (error as { code?: unknown }).code === "string";
}

function usageFix(code: string, path: string[]): string {
  const help = `carapace ${[...path, "--help"].join(" ")}`;
  return code === "E_UNKNOWN_COMMAND" || code === "E_NO_COMMAND"
    ? `run \`${help}\` to see the commands`
    : `run \`${help}\` to see the arguments`;
}

export async function runCli(root: AnyCommand, rawArgs: string[] = process.argv.slice(2)): Promise<void> {
  configureOutput();
  if (rawArgs.includes("--help") || rawArgs.includes("-h")) {
    process.stdout.write(`${await usageText(root, rawArgs, colourEnabled(process.stdout))}\n`);
    process.exitCode = EXIT.ok;
    return;
  }
  if (rawArgs.length === 1 && (rawArgs[0] === "--version" || rawArgs[0] === "-v")) {
    const meta = await resolve(root.meta);
    process.stdout.write(`${meta?.version ?? "unknown"}\n`);
    process.exitCode = EXIT.ok;
    return;
  }
  try {
    await runCommand(root, { rawArgs });
  } catch (error) {
    if (isCittyUsageError(error)) {
      const { path } = await commandPath(root, rawArgs);
      process.stderr.write(`${await usageText(root, rawArgs, colourEnabled(process.stderr))}\n\n`);
      process.stderr.write(`${formatMessage("CLI", stripAnsi(error.message), usageFix(error.code, path))}\n`);
      process.exitCode = EXIT.usage;
      return;
    }
    process.stderr.write(`${formatError(error)}\n`);
    process.exitCode = exitCodeOf(error);
  }
}
