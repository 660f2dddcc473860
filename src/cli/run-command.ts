import { resolveHome } from "../config/home.ts";
import { terminalSafeJsonText } from "../core/response/terminal-text.ts";
import { exitCodeOf, formatError } from "./errors.ts";

/**
 * Runs a command body with the resolved home; any thrown error is printed in the
 * `[COMPONENT] Error: … Fix: …` form and becomes the exit code (CliError carries its own).
 */
export async function withHome(
  body: (home: string) => Promise<number | undefined> | number | undefined,
): Promise<void> {
  try {
    const code = await body(resolveHome());
    if (code !== undefined) process.exitCode = code;
  } catch (error) {
    process.stderr.write(`${formatError(error)}\n`);
    process.exitCode = exitCodeOf(error);
  }
}

export function printJson(value: unknown): void {
  // Agent- or plugin-written strings may hold C1 or bidi controls, which JSON.stringify leaves as they are.
  process.stdout.write(`${terminalSafeJsonText(JSON.stringify(value, null, 2))}\n`);
}
