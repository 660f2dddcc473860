import { expect, test } from "bun:test";
import { IS_COMPILED } from "../../src/platform/compiled.ts";

// The compiled branches (selfCommand, plugin test's preload, the poller worker's embedded path, the
// plugin launcher) are exercised through dist/carapace by the CLI, plugin and e2e tests.
test("from the sources the process is not compiled", () => {
  expect(IS_COMPILED).toBe(false);
});
