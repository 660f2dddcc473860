/**
 * Real-runtime suites skip on a machine without Podman or the images, and say why. Where the test
 * command has built the images (build/test.sh sets CARAPACE_TEST_REQUIRE_RUNTIME=1), a skip would hide a
 * regression, so the reason becomes a failing test instead.
 */
import { test } from "bun:test";

export function reportRuntimeSkip(suite: string, reason: string | null): void {
  if (!reason) return;
  if (process.env.CARAPACE_TEST_REQUIRE_RUNTIME === "1") {
    test(`${suite}: the real runtime is required here`, () => {
      throw new Error(`${suite} cannot run: ${reason}`);
    });
    return;
  }
  console.warn(`[skip] ${suite}: ${reason}`);
}
