import { UserError } from "../errors/user-error.ts";

/** Errors of release verification, reported as `[RELEASE] Error: what. Fix: how.` */
export class ReleaseError extends UserError {
  override name = "ReleaseError";
  constructor(what: string, fix: string) {
    super("RELEASE", what, fix);
  }
}
