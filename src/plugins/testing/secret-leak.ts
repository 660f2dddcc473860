import { sanitize } from "../../core/response/sanitize.ts";

/**
 * JSON pointers of every string in `value` that the core's sanitizer would scrub (credential
 * patterns, and any non-empty string under a secret-named key such as `token` or `password`).
 */
export function findSecretLeaks(value: unknown): string[] {
  return sanitize(value).paths;
}

/** Throws when `value` holds anything credential-shaped; the message names the paths, never the values. */
export function assertNoSecretLeak(value: unknown): void {
  const paths = findSecretLeaks(value);
  if (paths.length === 0) return;
  const shown = paths.map((p) => (p === "" ? "(the value itself)" : p)).join(", ");
  throw new Error(
    `[TESTING] Error: the value holds credential-looking text at ${shown}; the core would redact it. Fix: never return secrets or raw upstream errors from a handler.`,
  );
}
