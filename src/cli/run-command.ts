import { resolveHome } from "../config/home.ts";
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
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
