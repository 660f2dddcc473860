/**
 * Group isolation against a hostile agent: another group's workspace is neither mounted nor reachable
 * by its host path, and a group forged into a tool call is rejected at validation, audited, and leaves
 * nothing the other group's next session can see (while the attacker's own memory, the positive
 * control, does reach the attacker's next session).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chownSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AGENT_USER } from "../../../src/container/paths.ts";
import { parseMountinfo } from "./container-inspect.ts";
import { HOSTILE_TIMEOUT_MS, type HostileLab, hostileSkipReason, startHostileLab, step } from "./harness.ts";
import { canary, diffTrees, snapshotTree } from "./host-inspect.ts";

describe.skipIf(hostileSkipReason !== null)("hostile agent: another group is out of reach", () => {
  let lab: HostileLab;
  beforeAll(async () => {
    lab = await startHostileLab();
  });
  afterAll(async () => {
    await lab?.stop();
  });

  test(
    "another group's workspace file is not reachable by its host path, by ../, or through the mounts",
    async () => {
      const secret = canary("victim-workspace");
      await lab.session("victim", []);
      const planted = join(lab.workspace("victim"), "secret.txt");
      writeFileSync(planted, `${secret}\n`, { mode: 0o644 });
      chownSync(planted, AGENT_USER.uid, AGENT_USER.gid);
      const before = snapshotTree(lab.workspace("victim"));
      const run = await lab.session("intruder", [
        step.read(planted),
        step.read("/workspace/../victim/secret.txt"),
        step.read("/home/agent/.claude/../../../workspace/../victim/secret.txt"),
        step.read("/workspace/victim/secret.txt"),
        step.bash(`ipc hello.echo '{"message":"x"}'; cat ${planted}`),
        step.read("/proc/self/mountinfo"),
      ]);
      expect(run.code).toBe(0);
      for (const n of [0, 1, 2, 3]) {
        expect(run.exchange(n)).toMatchObject({ name: "Read", isError: true });
        expect(run.exchange(n).result).toContain("File does not exist");
      }
      expect(run.exchange(4).isError).toBe(true);
      const mounts = parseMountinfo(run.exchange(5).result).filter((m) => m.root.startsWith(lab.home));
      expect(mounts.find((m) => m.target === "/workspace")?.root).toBe(lab.workspace("intruder"));
      for (const m of mounts) expect(m.root).not.toContain("/victim");
      expect(run.transcript.everything).not.toContain(secret);
      expect(diffTrees(before, snapshotTree(lab.workspace("victim")))).toEqual([]);
    },
    HOSTILE_TIMEOUT_MS,
  );

  test(
    "a forged group in an ipc call is rejected at stage 3 and stores nothing the other group's next session sees",
    async () => {
      const forged = canary("forged-memory");
      const own = canary("own-memory");
      const run = await lab.session("mallory", [
        step.bash(`ipc memory_store '{"type":"fact","content":"${forged}","group":"alice"}'`),
        step.bash(`ipc memory_store '{"type":"fact","content":"${own}"}'`),
      ]);
      expect(run.code).toBe(0);
      expect(run.exchange(0).isError).toBe(true);
      expect(run.exchange(0).result).toContain("VALIDATION_FAILED");
      expect(run.exchange(1).isError).toBe(false);
      expect(
        lab
          .audit("mallory")
          .some(
            (a) =>
              a.code === "VALIDATION_FAILED" && a.stage === 3 && (a.detail as { field?: string }).field === "/group",
          ),
      ).toBe(true);
      expect(lab.audit("alice")).toEqual([]);
      const alice = await lab.session("alice", []);
      expect(alice.transcript.instructions).toContain("Carapace session (group: alice)");
      expect(alice.transcript.everything).not.toContain(forged);
      expect(alice.transcript.everything).not.toContain(own);
      // Positive control: memory does carry into a later session, of the group that stored it.
      const mallory = await lab.session("mallory", []);
      expect(mallory.transcript.instructions).toContain(own);
      expect(mallory.transcript.everything).not.toContain(forged);
    },
    HOSTILE_TIMEOUT_MS,
  );
});
