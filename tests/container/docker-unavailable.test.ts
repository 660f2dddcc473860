/**
 * A machine where dockerd cannot start: a Docker suite that the test command requires fails at once
 * with the daemon's own error, instead of waiting or skipping in silence. The suite runs in a child
 * `bun test` whose PATH finds a dockerd that refuses to start.
 */
import { afterAll, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hasPodman, podmanSkipReason } from "./podman-env.ts";

const repoRoot = join(import.meta.dir, "../..");
const fakeBin = mkdtempSync(join(tmpdir(), "carapace-no-dockerd-"));
afterAll(() => rmSync(fakeBin, { recursive: true, force: true }));

const reason = process.getuid?.() !== 0 ? "the Docker suites run only as root" : hasPodman ? null : podmanSkipReason;
if (reason) console.warn(`[skip] dockerd that cannot start: ${reason}`);

test.skipIf(reason !== null)(
  "a required Docker suite fails with the daemon's error when dockerd cannot start",
  async () => {
    const dockerd = join(fakeBin, "dockerd");
    writeFileSync(dockerd, '#!/bin/sh\necho "failed to start daemon: no cgroup controllers here" >&2\nexit 1\n');
    chmodSync(dockerd, 0o755);
    const child = Bun.spawn(["bun", "test", "--timeout", "60000", "tests/container/docker-lifecycle.test.ts"], {
      cwd: repoRoot,
      env: { ...process.env, PATH: `${fakeBin}:${process.env.PATH}`, CARAPACE_TEST_REQUIRE_DOCKER: "1" },
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    const [out, err, code] = await Promise.all([
      new Response(child.stdout).text(),
      new Response(child.stderr).text(),
      child.exited,
    ]);
    const output = out + err;
    expect(code).not.toBe(0);
    expect(output).toContain("docker lifecycle: the real runtime is required here");
    expect(output).toContain("docker lifecycle cannot run: dockerd did not answer");
    expect(output).toContain("failed to start daemon: no cgroup controllers here");
    expect(output).toContain("with the vfs storage driver");
  },
  120_000,
);
