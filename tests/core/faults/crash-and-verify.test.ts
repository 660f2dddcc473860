import { describe, expect, test } from "bun:test";
import { appendFileSync } from "node:fs";
import { join } from "node:path";
import { ensureBinaries } from "../../harness/binaries.ts";
import { type RunningCore, startCore, tempHome, waitForAudit } from "../../harness/core.ts";

/**
 * Crash artefacts are not tampering: kill -9 while records are written (again and again) and a torn
 * line planted at the end leave `audit verify` exact (exit 0, the torn line named as a note) and the
 * group working; verify run over and over against a live core under load never reports a problem.
 */

const ROOMY = "[security]\nrate_limit_per_minute = 600000\nrate_limit_burst = 10000\nmax_inflight_per_session = 256\n";

/** A shell loop of ipc calls in the background: real processes, real sockets. */
function load(core: RunningCore, socket: string, calls: number) {
  const { ipc } = ensureBinaries();
  return Bun.spawn(
    ["bash", "-c", `for i in $(seq ${calls}); do "${ipc}" hello.echo '{"message":"load'$i'"}' >/dev/null 2>&1; done`],
    { env: { ...core.env, CARAPACE_SOCKET: socket }, stdout: "ignore", stderr: "ignore" },
  );
}

async function verifyOk(core: RunningCore): Promise<string> {
  const r = await core.carapace(["audit", "verify"]);
  expect(r.stdout).not.toMatch(/problem/);
  expect(r.code).toBe(0);
  return r.stdout;
}

describe("crash artefacts versus tampering", () => {
  test("kill -9 during writes, repeated, then a planted torn line: verify is exact and the group keeps working", async () => {
    const home = tempHome();
    for (let round = 0; round < 4; round++) {
      const core = await startCore({ home, config: ROOMY });
      const session = await core.openSession("crashy");
      const loaders = [load(core, session.socket, 400), load(core, session.socket, 400)];
      await waitForAudit(core, "crashy", (r) => r.kind === "routed", 10_000);
      await Bun.sleep(150 + round * 70);
      await core.kill();
      for (const l of loaders) l.kill();
      await verifyOk(core);
    }
    appendFileSync(join(home, "data/audit/crashy.jsonl"), '{"seq":99999,"ts":"2026-01-01T00:');
    const core = await startCore({ home, config: ROOMY });
    try {
      const before = await core.carapace(["audit", "verify"]);
      expect(before.code).toBe(0);
      const session = await core.openSession("crashy");
      const r = await core.ipc(session.socket, "hello.echo", { message: "still works" });
      expect(r.code).toBe(0);
      await waitForAudit(
        core,
        "_core",
        (rec) => (rec.detail as { event?: string } | undefined)?.event === "torn last line removed",
      );
    } finally {
      await core.stop();
    }
    const after = await verifyOk(core);
    expect(after).toMatch(/crashy: ok/);
  }, 120_000);

  test("verify in a loop on a live core under load (checkpoints signed meanwhile) reports nothing that is not there", async () => {
    const core = await startCore({ config: ROOMY });
    try {
      const sessions = await Promise.all(["busy-a", "busy-b", "busy-c"].map((g) => core.openSession(g)));
      const loaders = sessions.map((s) => load(core, s.socket, 150));
      await waitForAudit(core, "busy-a", (r) => r.kind === "routed", 10_000);
      let rounds = 0;
      while (loaders.some((l) => l.exitCode === null) && rounds < 25) {
        await verifyOk(core);
        if (rounds % 3 === 0) expect((await core.carapace(["audit", "checkpoint"])).code).toBe(0);
        rounds++;
      }
      expect(rounds).toBeGreaterThan(2);
      for (const l of loaders) await l.exited;
      await verifyOk(core);
    } finally {
      await core.stop();
    }
    await verifyOk(core);
  }, 120_000);
});
