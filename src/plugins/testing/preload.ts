/**
 * Preloaded into `bun test` runs of a plugin's own tests (`carapace plugin test` runs them): serves
 * `@carapace/sdk` and `@carapace/testing` to test files outside this repository.
 */
import { registerTestingModule } from "./seam.ts";

registerTestingModule();
