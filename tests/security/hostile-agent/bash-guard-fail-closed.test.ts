/**
 * The Bash guard fails closed: when `ipc guard-bash` cannot judge (here it exits 1 without a word, as a
 * crash would), Claude Code blocks the call instead of running it, because the managed hook says
 * `onFailure: "block"`. Runs on a test-only image: this clone's agent image with an `ipc` whose guard
 * mode fails; every other ipc call goes to the real client.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { agentImage } from "../../harness/agent-env.ts";
import { HOSTILE_TIMEOUT_MS, type HostileLab, hostileSkipReason, startHostileLab, step } from "./harness.ts";

const BROKEN_GUARD = `#!/bin/sh
# Test fixture: the guard mode fails the way a crash would (exit 1, nothing on stdout).
if [ "$1" = guard-bash ]; then exit 1; fi
exec /usr/local/lib/carapace/ipc "$@"
`;

function buildBrokenGuardImage(baseTag: string): string {
  const tag = `localhost/carapace-test-mutant:broken-guard-${process.pid}`;
  const dir = mkdtempSync(join(tmpdir(), "carapace-broken-guard-"));
  try {
    writeFileSync(join(dir, "ipc"), BROKEN_GUARD, { mode: 0o555 });
    writeFileSync(join(dir, "Containerfile"), `FROM ${baseTag}\nCOPY --chmod=0555 ipc /usr/local/bin/ipc\n`);
    const r = Bun.spawnSync(["podman", "build", "-q", "-t", tag, dir], { stdout: "pipe", stderr: "pipe" });
    if (r.exitCode !== 0) throw new Error(`building the broken-guard image failed: ${r.stderr.toString()}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return tag;
}

describe.skipIf(hostileSkipReason !== null)("hostile agent: a Bash guard that fails blocks the call", () => {
  let lab: HostileLab;
  let tag = "";
  beforeAll(async () => {
    tag = buildBrokenGuardImage(agentImage.tag);
    lab = await startHostileLab({ image: tag });
  });
  afterAll(async () => {
    await lab?.stop();
    if (tag) Bun.spawnSync(["podman", "rmi", "-f", tag], { stdout: "ignore", stderr: "ignore" });
  });

  test(
    "with the guard failing, a chained command and a bare read-only command are blocked, and nothing runs",
    async () => {
      const run = await lab.session("failing-guard", [
        step.bash(`ipc hello.echo '{"message":"x"}'; id`),
        step.bash("id"),
        step.bash(`ipc hello.echo '{"message":"x"}'`),
      ]);
      expect(run.code).toBe(0);
      for (const n of [0, 1, 2]) {
        expect(run.exchange(n).isError).toBe(true);
        expect(run.exchange(n).result).toContain('blocking because onFailure is "block"');
      }
      expect(run.transcript.everything).not.toContain("uid=65534");
      expect(lab.audit("failing-guard").filter((a) => a.topic === "tool.invoke.hello.echo")).toEqual([]);
    },
    HOSTILE_TIMEOUT_MS,
  );
});
