/**
 * The `@carapace/sdk` seam (DESIGN.md §3): plugins loaded from disk at run time import the SDK by
 * name, and get the core's own module objects, so `instanceof ToolError` holds in the core. Works
 * inside the compiled binary, where there is no node_modules to resolve the name from.
 */
import * as sdk from "./sdk/index.ts";

let registered = false;

export function registerSdkModule(): void {
  if (registered) return;
  registered = true;
  const exports: Record<string, unknown> = { ...sdk };
  Bun.plugin({
    name: "carapace-sdk",
    setup(build) {
      build.module("@carapace/sdk", () => ({ exports, loader: "object" }));
    },
  });
}
