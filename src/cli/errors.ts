/** User-facing errors of the `carapace` CLI; the base and its format live in src/errors/user-error.ts. */
import { stripTerminalEscapes } from "../core/response/terminal-text.ts";
import { ALREADY_FORMATTED, EXIT, type ExitCode, formatMessage, UserError } from "../errors/user-error.ts";

export { EXIT, type ExitCode, formatMessage, UserError };

export class CliError extends UserError {
  override name = "CliError";
}

/**
 * One line for the user. Errors of other layers that already follow the format (ContainerError,
 * StorageError, …) are passed through; anything else is wrapped without its stack. Every CLI error is
 * printed through here, and errors may repeat what was typed or what the core echoed back, so terminal
 * escapes are removed here once rather than at each place that builds a message.
 */
export function formatError(error: unknown): string {
  return stripTerminalEscapes(formatted(error));
}

function formatted(error: unknown): string {
  if (error instanceof UserError) return error.message;
  const message = error instanceof Error ? error.message : String(error);
  if (ALREADY_FORMATTED.test(message)) return message;
  return formatMessage(
    "CARAPACE",
    message === "" ? "an unexpected error occurred" : message,
    "run the command again with --debug and report the output if it persists",
  );
}

export function exitCodeOf(error: unknown): ExitCode {
  return error instanceof UserError ? error.exitCode : EXIT.failure;
}
