import { UserError } from "../errors/user-error.ts";

/** A container-layer failure, reported as `[CONTAINER] Error: what. Fix: how.` */
export class ContainerError extends UserError {
  override name = "ContainerError";
  constructor(what: string, fix: string) {
    super("CONTAINER", what, fix);
  }
}
