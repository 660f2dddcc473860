/**
 * The one base of every user-facing error, in every layer, one format everywhere:
 *   `[COMPONENT] Error: what happened. Fix: what to do.`
 * Code that needs the parts reads `component`, `what`, `fix` and `exitCode`; nothing parses the text.
 *
 * Exit codes (every command documents the ones it uses in `--help`):
 *   0  success
 *   1  failure: the operation failed, a check failed, or the core answered with an error
 *   2  usage error: unknown command or key, a malformed or out-of-range argument
 *   3  cannot reach the core or the transport failed (no control socket, timeout)
 */

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

/** The one test of whether a message already has the user-facing form. */
export const ALREADY_FORMATTED = /^\[[A-Z][A-Z0-9_-]*\] Error: /;

/**
 * An error that already is in this form (one layer's error carried up by another) renders as it is:
 * never `[AGENT] Error: [AUTH] Error: … Fix: …. Fix: …`.
 */
export function formatMessage(component: string, what: string, fix: string): string {
  if (ALREADY_FORMATTED.test(what.trim())) return sentence(what);
  return `[${component}] Error: ${sentence(what)} Fix: ${sentence(fix)}`;
}

/** The message up to its fix (`[COMPONENT] Error: what.`), or any other error's message. */
export function headlineOf(error: unknown): string {
  if (error instanceof UserError) return `[${error.component}] Error: ${sentence(error.what)}`;
  return error instanceof Error ? error.message : String(error);
}

/** What happened, as the message says it (no component, no fix), or any other error's message. */
export function whatOf(error: unknown): string {
  if (error instanceof UserError) return sentence(error.what);
  return error instanceof Error ? error.message : String(error);
}

/** The error's fix as the message says it, or `fallback` for an error that has none. */
export function fixOf(error: unknown, fallback: string): string {
  return error instanceof UserError ? sentence(error.fix) : fallback;
}

export class UserError extends Error {
  override name = "UserError";
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
