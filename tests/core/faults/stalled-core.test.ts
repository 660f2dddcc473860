import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { deadlineCorrelation } from "../../../src/protocol/deadline-correlation.ts";
import { installPlugin } from "../../fixtures/plugins/install.ts";
import { startCore, tempHome, waitForAudit } from "../../harness/core.ts";
import { wire } from "../../harness/raw.ts";
import { FrameDealer } from "../../security/support.ts";

/**
 * A plugin that stalls the core (a handler that busy-waits on its thread) while other callers wait:
 * once their `ipc` has given up, their calls are not run when the core gets to them, and each is
 * audited at stage 6 as not run, with no record of intent.
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
    const home = tempHome();
    installPlugin(home, "stall");
    const core = await startCore({ home, config: "[memory]\nmax_stores_per_session = 1000\n" });
    try {
      const session = await core.openSession(GROUP);
      const staller = await core.openSession("other");
      const stall = core.ipc(staller.socket, "stall.block", { ms: 4000 });
      await waitForAudit(core, "other", (r) => r.kind === "intent", 10_000);
      // Callers that wait 1 s (the deadline their correlation carries, as ipc's does); the core is stuck.
      const dealer = new FrameDealer(session.socket);
      const sent = Array.from({ length: 4 }, (_, i) => {
        const correlation = deadlineCorrelation(1_000);
        dealer.send(wire("tool.invoke.memory_store", { type: "fact", content: `stalled ${i}` }, correlation));
        return correlation;
      });
      expect((await stall).code).toBe(0);
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
      expect(records.filter((r) => r.kind === "intent")).toEqual([]);
      expect(storedCount(core.home)).toBe(0);

      const fresh = await core.ipc(session.socket, "memory_store", { type: "fact", content: "after the stall" });
      expect(fresh.code).toBe(0);
      expect(storedCount(core.home)).toBe(1);
    } finally {
      await core.stop();
    }
  }, 60_000);
});
