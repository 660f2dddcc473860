import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type RunningCore, startCore } from "../harness/core.ts";
import { rawRequest, wire } from "../harness/raw.ts";
import { auditCount, auditMark, expectServing, FrameDealer, type Json } from "./support.ts";

/**
 * Hostile caller: a flood past the rate limit (burst 5) is cut at the burst, per session and group. The
 * bucket refills one token a minute, so however slowly a loaded machine works through a flood, no token
 * comes back during a test: "exactly the burst" cannot turn into burst + 1.
 */

const FLOOD = 20;
const BURST = 5;

describe("floods past the rate limit (rate_limit_per_minute = 1, burst = 5)", () => {
  let core: RunningCore;
  let flooderSession: { id: string; socket: string } | undefined;

  beforeAll(async () => {
    core = await startCore({
      config: "[security]\nrate_limit_per_minute = 1\nrate_limit_burst = 5\nmax_inflight_per_session = 64\n",
    });
  });
  afterAll(async () => {
    await core.stop();
  });

  /** Pipelines `count` calls on one connection before reading any reply, so they arrive within milliseconds. */
  async function flood(socket: string, count: number): Promise<{ sent: string[]; replies: Json[] }> {
    const dealer = new FrameDealer(socket);
    try {
      const sent = Array.from({ length: count }, () => crypto.randomUUID());
      for (const [i, correlation] of sent.entries())
        dealer.send(wire("tool.invoke.hello.echo", { message: `flood ${i}` }, correlation));
      return { sent, replies: await dealer.receiveMany(count, 10_000) };
    } finally {
      dealer.close();
    }
  }

  test("20 calls at once: exactly 5 succeed, 15 get RATE_LIMITED with retry_after ≥ 1, each audited at stage 4", async () => {
    const flooder = await core.openSession("flood");
    flooderSession = flooder;
    const mark = auditMark(core, "flood");
    const { sent, replies } = await flood(flooder.socket, FLOOD);
    expect(replies.length).toBe(FLOOD);
    expect(new Set(replies.map((r) => r.correlation))).toEqual(new Set(sent));

    const ok = replies.filter((r) => r.kind === "result");
    const limited = replies.filter((r) => r.kind === "error");
    expect(ok.length).toBe(BURST);
    expect(limited.length).toBe(FLOOD - BURST);
    for (const r of limited) {
      const error = r.error as Json;
      expect(error).toMatchObject({ code: "RATE_LIMITED", stage: 4, retriable: true });
      expect(Number.isInteger(error.retry_after)).toBe(true);
      expect(error.retry_after as number).toBeGreaterThanOrEqual(1);
    }

    const limitedCorrelations = new Set(limited.map((r) => r.correlation));
    const calls = await auditCount(core, "flood", mark, (r) => r.outcome !== "info", FLOOD);
    const rejected = calls.filter((r) => r.kind === "rejected");
    expect(rejected.length).toBe(FLOOD - BURST);
    for (const r of rejected) {
      expect(r).toMatchObject({ code: "RATE_LIMITED", stage: 4, group: "flood", session: flooder.id });
      expect(limitedCorrelations.has(r.correlation as string)).toBe(true);
    }
    expect(calls.filter((r) => r.kind === "routed").length).toBe(BURST);
  });

  test("a session in another group is unaffected by the flood", async () => {
    const bystander = await core.openSession("bystander");
    const { replies } = await flood(bystander.socket, 3);
    expect(replies.map((r) => r.kind)).toEqual(["result", "result", "result"]);
    expectServing(bystander.socket);
  });

  test("the flooding session keeps being answered (served or RATE_LIMITED), a fresh one in its group is served", async () => {
    const flooder = flooderSession as { id: string; socket: string };
    const reply = rawRequest(flooder.socket, wire("tool.invoke.hello.time", {}));
    expect(reply).not.toBeNull();
    if (reply?.kind === "error") expect((reply.error as Json).code).toBe("RATE_LIMITED");
    else expect(reply?.kind).toBe("result");
    // Its own bucket, and the group's shared bucket (burst × max sessions) still has room.
    const fresh = await core.openSession("flood");
    expectServing(fresh.socket);
  });

  test("rejected calls spend no tokens: 20 unknown-tool calls leave the whole burst", async () => {
    const s = await core.openSession("unknowns");
    const dealer = new FrameDealer(s.socket);
    try {
      for (let i = 0; i < FLOOD; i++) dealer.send(wire("tool.invoke.no.such_tool", {}));
      const replies = await dealer.receiveMany(FLOOD, 10_000);
      expect(replies.map((r) => (r.error as Json).code)).toEqual(Array(FLOOD).fill("UNKNOWN_TOOL"));
    } finally {
      dealer.close();
    }
    const { replies } = await flood(s.socket, BURST);
    expect(replies.map((r) => r.kind)).toEqual(Array(BURST).fill("result"));
  });
});
