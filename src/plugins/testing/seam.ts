/**
 * Serves `@carapace/testing` to code the compiled binary loads from disk (the conformance suite's
 * plugin, a plugin's own checks), next to `@carapace/sdk` and the same way (sdk-seam.ts).
 */
import { registerSdkModule } from "../sdk-seam.ts";
import * as testing from "./index.ts";

let registered = false;

export function registerTestingModule(): void {
  registerSdkModule();
  if (registered) return;
  registered = true;
  const exports: Record<string, unknown> = { ...testing };
  Bun.plugin({
    name: "carapace-testing",
    setup(build) {
      build.module("@carapace/testing", () => ({ exports, loader: "object" }));
    },
  });
}
