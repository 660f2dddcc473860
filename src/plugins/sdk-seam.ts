/**
 * The `@carapace/sdk` seam: plugins loaded from disk at run time import the SDK by
 * name, and get the core's own module objects, so `instanceof ToolError` holds in the core. Works
 * inside the compiled binary, where there is no node_modules to resolve the name from.
 */
import * as sdk from "./sdk/index.ts";

const served = new Set<string>();

/** Serves `moduleName` to code loaded at run time as these very module objects (once per name). */
export function serveModule(moduleName: string, namespace: object): void {
  if (served.has(moduleName)) return;
  served.add(moduleName);
  const exports: Record<string, unknown> = { ...namespace };
  Bun.plugin({
    name: `serve ${moduleName}`,
    setup(build) {
      build.module(moduleName, () => ({ exports, loader: "object" }));
    },
  });
}

export function registerSdkModule(): void {
  serveModule("@carapace/sdk", sdk);
}
