/**
 * The `carapace` entry runner: citty parses and dispatches, this decides what the user sees.
 * citty's own runMain exits 1 on an unknown command and colours help even in a pipe; here
 * `--help` prints plain text off a terminal and exits 0, `--version` prints the version, and usage
 * errors (unknown command, missing or malformed argument) print the usage and one
 * `[CLI] Error: … Fix: …` line to stderr, then exit 2. Unknown flags and extra arguments are usage
 * errors too (strict-args.ts), found before any command runs.
 */
import { renderUsage, runCommand } from "citty";
import { EXIT, exitCodeOf, formatError, formatMessage } from "./errors.ts";
import { colourEnabled, configureOutput, dropOutputAfterPipeCloses, stripAnsi } from "./output.ts";
import { type AnyCommand, findUsageProblem } from "./strict-args.ts";

async function resolve<T>(value: T | (() => T | Promise<T>) | Promise<T>): Promise<T> {
  return typeof value === "function" ? await (value as () => T | Promise<T>)() : await value;
}

/** The deepest command named by the leading words of `rawArgs`, its parent, and the words used. */
async function commandPath(root: AnyCommand, rawArgs: readonly string[]): Promise<{ cmd: AnyCommand; path: string[] }> {
  let cmd = root;
  const path: string[] = [];
  for (const word of rawArgs) {
    if (word.startsWith("-")) break;
    const subs = (await resolve(cmd.subCommands)) as Record<string, AnyCommand> | undefined;
    const next = subs?.[word];
    if (next === undefined) break;
    cmd = await resolve(next);
    path.push(word);
  }
  return { cmd, path };
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
  const { cmd, path } = await commandPath(root, rawArgs);
  const rootMeta = await resolve(root.meta);
  // citty names a command by its parent's name and its own; the parent named here is the whole
  // path, so every usage line starts with `carapace`.
  const parent: AnyCommand | undefined =
    path.length === 0
      ? undefined
      : { meta: { name: [rootMeta?.name ?? "carapace", ...path.slice(0, -1)].join(" "), version: rootMeta?.version } };
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
  dropOutputAfterPipeCloses(process.stdout);
  dropOutputAfterPipeCloses(process.stderr);
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
  const problem = await findUsageProblem(root, rawArgs);
  if (problem !== undefined) {
    process.stderr.write(`${await usageText(root, problem.path, colourEnabled(process.stderr))}\n\n`);
    process.stderr.write(`${formatMessage("CLI", problem.what, problem.fix)}\n`);
    process.exitCode = EXIT.usage;
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
