import { CliError, EXIT } from "../cli/errors.ts";

/** A problem with $CARAPACE_HOME itself (unusable path, a file where a directory belongs, …). */
export class HomeError extends CliError {
  override name = "HomeError";
  constructor(what: string, fix: string) {
    super("HOME", what, fix, EXIT.failure);
  }
}
