/**
 * Real-runtime suites skip on a machine without Podman or the images, and say why. Where the test
 * command has built the images (build/test.sh sets CARAPACE_TEST_REQUIRE_RUNTIME=1), a skip would hide a
 * regression, so the reason becomes a failing test instead. The Docker suites have their own switch
 * (CARAPACE_TEST_REQUIRE_DOCKER), set where dockerd is installed and the tests run as root.
 */
import { test } from "bun:test";

export function reportRuntimeSkip(suite: string, reason: string | null): void {
  reportSkipUnless("CARAPACE_TEST_REQUIRE_RUNTIME", suite, reason);
}

/** The Docker suites: required where the test command found dockerd (CARAPACE_TEST_REQUIRE_DOCKER=1). */
export function reportDockerSkip(suite: string, reason: string | null): void {
  reportSkipUnless("CARAPACE_TEST_REQUIRE_DOCKER", suite, reason);
}

function reportSkipUnless(requiredBy: string, suite: string, reason: string | null): void {
  if (!reason) return;
  if (process.env[requiredBy] === "1") {
    test(`${suite}: the real runtime is required here`, () => {
      throw new Error(`${suite} cannot run: ${reason}`);
    });
    return;
  }
  console.warn(`[skip] ${suite}: ${reason}`);
}
