/**
 * Serves `@carapace/testing` to code the compiled binary loads from disk (the conformance suite's
 * plugin, a plugin's own checks), next to `@carapace/sdk` and the same way (sdk-seam.ts).
 */
import { registerSdkModule, serveModule } from "../sdk-seam.ts";
import * as testing from "./index.ts";

export function registerTestingModule(): void {
  registerSdkModule();
  serveModule("@carapace/testing", testing);
}
