/** Errors of release verification, in the CLI's `[COMPONENT] Error: what. Fix: how.` form. */
export class ReleaseError extends Error {
  override name = "ReleaseError";
  readonly what: string;
  readonly fix: string;

  constructor(what: string, fix: string) {
    super(`[RELEASE] Error: ${what}. Fix: ${fix}.`);
    this.what = what;
    this.fix = fix;
  }
}
