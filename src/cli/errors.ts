/**
 * User-facing errors of the `carapace` CLI, one format everywhere:
 *   `[COMPONENT] Error: what happened. Fix: what to do.`
 *
 * Exit codes (every command documents the ones it uses in `--help`):
 *   0  success
 *   1  failure: the operation failed, a check failed, or the core answered with an error
 *   2  usage error: unknown command or key, a malformed or out-of-range argument
 *   3  cannot reach the core or the transport failed (no control socket, timeout)
 */

const ALREADY_FORMATTED = /^\[[A-Z][A-Z0-9_-]*\] Error: /;

export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  transport: 3,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Adds a closing full stop unless the sentence already ends with punctuation. */
function sentence(text: string): string {
  const trimmed = text.trim();
  return /[.!?]$/.test(trimmed) ? trimmed : `${trimmed}.`;
}

/**
 * An error that already is in this form (one layer's error carried up by another) renders as it is:
 * never `[AGENT] Error: [AUTH] Error: … Fix: …. Fix: …`.
 */
export function formatMessage(component: string, what: string, fix: string): string {
  if (ALREADY_FORMATTED.test(what.trim())) return sentence(what);
  return `[${component}] Error: ${sentence(what)} Fix: ${sentence(fix)}`;
}

export class CliError extends Error {
  override name = "CliError";
  readonly component: string;
  readonly what: string;
  readonly fix: string;
  readonly exitCode: ExitCode;

  constructor(component: string, what: string, fix: string, exitCode: ExitCode = EXIT.failure) {
    super(formatMessage(component, what, fix));
    this.component = component;
    this.what = what;
    this.fix = fix;
    this.exitCode = exitCode;
  }
}

/**
 * One line for the user. Errors of other layers that already follow the format (ContainerError,
 * StorageError, …) are passed through; anything else is wrapped without its stack.
 */
export function formatError(error: unknown): string {
  if (error instanceof CliError) return error.message;
  const message = error instanceof Error ? error.message : String(error);
  if (ALREADY_FORMATTED.test(message)) return message;
  return formatMessage(
    "CARAPACE",
    message === "" ? "an unexpected error occurred" : message,
    "run the command again with --debug and report the output if it persists",
  );
}

export function exitCodeOf(error: unknown): ExitCode {
  return error instanceof CliError ? error.exitCode : EXIT.failure;
}
