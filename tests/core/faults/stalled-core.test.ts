import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { deadlineCorrelation } from "../../../src/protocol/deadline-correlation.ts";
import { startCore, waitForAudit } from "../../harness/core.ts";
import { wire } from "../../harness/raw.ts";
import { FrameDealer } from "../../security/support.ts";

/**
 * A core that stalls (stopped with SIGSTOP, as a hogged event loop would) while callers wait: once
 * their deadline passed (their `ipc` gave up), the calls are not run when the core gets to them, and
 * each is audited at stage 6 as not run, with no record of intent.
 */

const GROUP = "stall";

function storedCount(home: string): number {
  const db = join(home, "data", "memory", `${GROUP}.sqlite`);
  if (!existsSync(db)) return 0;
  const conn = new Database(db, { readonly: true });
  try {
    return conn.query<{ n: number }, []>("SELECT count(*) AS n FROM entries").get()?.n ?? 0;
  } finally {
    conn.close();
  }
}

describe("calls whose caller gave up during a stall", () => {
  test("are not run after the stall; the next call runs normally", async () => {
    const core = await startCore({ config: "[memory]\nmax_stores_per_session = 1000\n" });
    try {
      const session = await core.openSession(GROUP);
      // Connected and answered once before the stall, so the requests sent during it wait in the socket.
      const dealer = new FrameDealer(session.socket);
      dealer.send(wire("tool.invoke.hello.echo", { message: "warm up" }));
      expect((await dealer.receive(5_000))?.kind).toBe("result");
      core.proc.kill("SIGSTOP");
      // Callers that wait 1 s (the deadline their correlation carries, as ipc's does).
      const sent = Array.from({ length: 4 }, (_, i) => {
        const correlation = deadlineCorrelation(1_000);
        dealer.send(wire("tool.invoke.memory_store", { type: "fact", content: `stalled ${i}` }, correlation));
        return correlation;
      });
      await Bun.sleep(2_500);
      core.proc.kill("SIGCONT");
      const replies = await dealer.receiveMany(sent.length, 10_000);
      dealer.close();
      expect(replies.map((r) => r.correlation).sort()).toEqual([...sent].sort());
      for (const r of replies) expect(r.error).toMatchObject({ code: "PLUGIN_TIMEOUT", retriable: true });
      await waitForAudit(
        core,
        GROUP,
        () => core.audit(GROUP).filter((r) => r.code === "PLUGIN_TIMEOUT").length === 4,
        10_000,
      );
      const records = core.audit(GROUP);
      const expired = records.filter((r) => r.code === "PLUGIN_TIMEOUT");
      for (const r of expired) {
        expect(r).toMatchObject({ stage: 6, outcome: "error" });
        expect((r.detail as { reason: string }).reason).toContain("did not run");
      }
      // The warm-up call is the only one that ran.
      expect(records.filter((r) => r.kind === "intent").map((r) => r.topic)).toEqual(["tool.invoke.hello.echo"]);
      expect(storedCount(core.home)).toBe(0);

      const fresh = await core.ipc(session.socket, "memory_store", { type: "fact", content: "after the stall" });
      expect(fresh.code).toBe(0);
      expect(storedCount(core.home)).toBe(1);
    } finally {
      core.proc.kill("SIGCONT");
      await core.stop();
    }
  }, 60_000);
});
