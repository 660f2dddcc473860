import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { installPlugin } from "../fixtures/plugins/install.ts";
import { type RunningCore, startCore, tempHome } from "../harness/core.ts";
import { wire } from "../harness/raw.ts";
import { auditAfter, auditMark, FrameDealer, type Json } from "./support.ts";

/**
 * A reissued correlation whose reply-cache slot was evicted starts a second call. It must count as one
 * more call in flight, not take the first one's place: otherwise an agent reissuing one correlation runs
 * any number of calls past `max_inflight_per_session`, and ending the session leaves the first running.
 */

async function pendingFor(core: RunningCore, session: string): Promise<Json[]> {
  const r = await core.carapace(["approvals", "--json"]);
  expect(r.code).toBe(0);
  return (JSON.parse(r.stdout) as Json[]).filter((p) => p.session === session);
}

async function waitPendingCount(core: RunningCore, session: string, count: number): Promise<Json[]> {
  for (let i = 0; i < 400; i++) {
    const now = await pendingFor(core, session);
    if (now.length >= count) return now;
    await Bun.sleep(50);
  }
  throw new Error(`fewer than ${count} pending confirmations appeared`);
}

describe("a reissued correlation after its cache slot is evicted, through the compiled core", () => {
  let core: RunningCore;

  beforeAll(async () => {
    const home = tempHome();
    installPlugin(home, "mailer");
    core = await startCore({
      home,
      config: [
        "[security]",
        "confirmation_timeout_ms = 60000",
        "rate_limit_per_minute = 6000",
        "rate_limit_burst = 100",
        "max_inflight_per_session = 2",
        "reply_cache_size = 1",
        "",
      ].join("\n"),
    });
  });
  afterAll(async () => {
    await core.stop();
  });

  test("counts as a second call in flight: the third is RATE_LIMITED at stage 4 and audited; closing the session ends all", async () => {
    const s = await core.openSession("reissue");
    const dealer = new FrameDealer(s.socket);
    const send = (correlation: string) =>
      dealer.send(wire("tool.invoke.mailer.send", { to: "a@example.com", body: "hi" }, correlation));
    try {
      const first = crypto.randomUUID();
      send(first);
      await waitPendingCount(core, s.id, 1);

      // A quick call takes the only cache slot, so `first` is no longer known to the reply cache.
      const quick = crypto.randomUUID();
      dealer.send(wire("tool.invoke.hello.echo", { message: "evict" }, quick));
      expect(await dealer.receive(30_000)).toMatchObject({ kind: "result", correlation: quick });

      send(first);
      await waitPendingCount(core, s.id, 2);

      const mark = auditMark(core, s.group);
      const third = crypto.randomUUID();
      send(third);
      const reply = (await dealer.receive(30_000)) as Json;
      expect(reply).toMatchObject({ kind: "error", correlation: third, error: { code: "RATE_LIMITED" } });
      expect(String((reply.error as Json).message)).toContain("in flight");
      const [refused] = await auditAfter(core, s.group, mark, (r) => r.correlation === third);
      expect(refused).toMatchObject({ session: s.id, code: "RATE_LIMITED", stage: 4 });
      expect((await pendingFor(core, s.id)).length).toBe(2);

      await core.closeSession(s.id);
      for (let i = 0; i < 400 && (await pendingFor(core, s.id)).length > 0; i++) await Bun.sleep(50);
      expect(await pendingFor(core, s.id)).toEqual([]);
    } finally {
      dealer.close();
    }
  });
});
