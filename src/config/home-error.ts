import { EXIT, UserError } from "../errors/user-error.ts";

/** A problem with $CARAPACE_HOME itself (unusable path, a file where a directory belongs, …). */
export class HomeError extends UserError {
  override name = "HomeError";
  constructor(what: string, fix: string) {
    super("HOME", what, fix, EXIT.failure);
  }
}
