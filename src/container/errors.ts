/** A container-layer failure whose message follows `[CONTAINER] Error: what. Fix: how.` */
export class ContainerError extends Error {
  override readonly name = "ContainerError";
  constructor(
    readonly what: string,
    readonly fix: string,
  ) {
    super(`[CONTAINER] Error: ${what}. Fix: ${fix}.`);
  }
}
