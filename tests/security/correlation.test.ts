import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { installPlugin } from "../fixtures/plugins/install.ts";
import { type RunningCore, startCore, tempHome } from "../harness/core.ts";
import { rawRequest, wire } from "../harness/raw.ts";
import {
  auditAfter,
  auditMark,
  expectRejected,
  expectServing,
  FrameDealer,
  type Json,
  ROOMY_LIMITS,
} from "./support.ts";

/** Hostile caller: a reused correlation is answered from the reply cache or refused; a tool never runs twice. */

describe("reused correlations (one core)", () => {
  let core: RunningCore;
  let a: { id: string; socket: string; group: string };
  let b: { id: string; socket: string; group: string };

  beforeAll(async () => {
    const home = tempHome();
    installPlugin(home, "high-risk");
    core = await startCore({ home, config: ROOMY_LIMITS });
    a = await core.openSession("corr-a");
    b = await core.openSession("corr-b");
  });
  afterAll(async () => {
    await core.stop();
  });

  const routedFor = (group: string, correlation: string) =>
    core.audit(group).filter((r) => r.correlation === correlation && r.kind === "routed");

  test("the same request again is answered from the cache: same reply, one routed record", async () => {
    const correlation = crypto.randomUUID();
    const body = wire("tool.invoke.hello.time", {}, correlation);
    const first = rawRequest(a.socket, body);
    expect(first?.kind).toBe("result");
    await Bun.sleep(5); // hello.time would answer with a later time if it ran again
    const second = rawRequest(a.socket, body);
    const third = rawRequest(a.socket, body);
    expect(second).toEqual(first as Json);
    expect(third).toEqual(first as Json);
    await auditAfter(core, a.group, 0, (r) => r.correlation === correlation);
    await Bun.sleep(50);
    expect(routedFor(a.group, correlation).length).toBe(1);
    expectServing(a.socket);
  });

  test("the same correlation with different arguments is refused (VALIDATION_FAILED, field /correlation)", async () => {
    const correlation = crypto.randomUUID();
    const original = rawRequest(a.socket, wire("tool.invoke.hello.echo", { message: "first" }, correlation));
    expect(original).toEqual({ kind: "result", correlation, result: { message: "first" } });
    const { error, reply, record } = await expectRejected(
      core,
      a,
      wire("tool.invoke.hello.echo", { message: "second" }, correlation),
      "VALIDATION_FAILED",
      3,
    );
    expect(error.field).toBe("/correlation");
    expect(reply.correlation).toBe(correlation);
    expect(record.correlation).toBe(correlation);
    // The first answer is still what the cache holds.
    expect(rawRequest(a.socket, wire("tool.invoke.hello.echo", { message: "first" }, correlation))).toEqual(
      original as Json,
    );
    expect(routedFor(a.group, correlation).length).toBe(1);
  });

  test("the same correlation with a different topic is refused", async () => {
    const correlation = crypto.randomUUID();
    expect(rawRequest(a.socket, wire("tool.invoke.hello.greet", { name: "x" }, correlation))?.kind).toBe("result");
    const { error } = await expectRejected(
      core,
      a,
      wire("tool.invoke.hello.echo", { name: "x" }, correlation),
      "VALIDATION_FAILED",
      3,
    );
    expect(error.field).toBe("/correlation");
    expectServing(a.socket);
  });

  test("the same correlation in upper case is the same call: answered from the cache, or refused as a conflict", async () => {
    const correlation = crypto.randomUUID();
    const upper = correlation.toUpperCase();
    const first = rawRequest(a.socket, wire("tool.invoke.hello.time", {}, correlation));
    expect(first?.kind).toBe("result");
    await Bun.sleep(5); // hello.time would answer with a later time if it ran again
    expect(rawRequest(a.socket, wire("tool.invoke.hello.time", {}, upper))).toEqual(first as Json);
    const { error } = await expectRejected(
      core,
      a,
      wire("tool.invoke.hello.echo", { message: "other" }, upper),
      "VALIDATION_FAILED",
      3,
    );
    expect(error.field).toBe("/correlation");
    await Bun.sleep(50);
    const routed = core
      .audit(a.group)
      .filter((r) => String(r.correlation).toLowerCase() === correlation && r.kind === "routed");
    expect(routed.length).toBe(1);
  });

  test("a rejected request stays rejected when retried with its correlation (it never runs later)", async () => {
    const correlation = crypto.randomUUID();
    const body = wire("tool.invoke.hello.echo", { message: 1 }, correlation);
    const first = rawRequest(a.socket, body);
    expect(first?.error).toMatchObject({ code: "VALIDATION_FAILED", stage: 3 });
    expect(rawRequest(a.socket, body)).toEqual(first as Json);
    await Bun.sleep(50);
    expect(
      core
        .audit(a.group)
        .filter((r) => r.correlation === correlation)
        .map((r) => r.kind),
    ).toEqual(["rejected"]);
  });

  test("another session's correlation is not a key into this session's cache", async () => {
    const correlation = crypto.randomUUID();
    const inA = rawRequest(a.socket, wire("tool.invoke.hello.echo", { message: "secret of a" }, correlation));
    expect(inA?.kind).toBe("result");
    // B reuses A's correlation with the same request and with its own: it gets its own fresh answers.
    const markB = auditMark(core, b.group);
    const inB = rawRequest(b.socket, wire("tool.invoke.hello.echo", { message: "secret of a" }, correlation));
    expect(inB).toEqual({ kind: "result", correlation, result: { message: "secret of a" } });
    const routedB = await auditAfter(core, b.group, markB, (r) => r.correlation === correlation);
    expect(routedB.map((r) => [r.kind, r.session])).toEqual([
      ["intent", b.id],
      ["routed", b.id],
    ]);
    const other = crypto.randomUUID();
    rawRequest(a.socket, wire("tool.invoke.hello.echo", { message: "only a" }, other));
    expect(rawRequest(b.socket, wire("tool.invoke.hello.echo", { message: "b's own" }, other))).toEqual({
      kind: "result",
      correlation: other,
      result: { message: "b's own" },
    });
    expectServing(b.socket);
  });

  test("a repeat from another connection while the call runs joins it: both get the one result, it runs once", async () => {
    const correlation = crypto.randomUUID();
    const body = wire("tool.invoke.high_risk.run", {}, correlation);
    const first = new FrameDealer(a.socket);
    const second = new FrameDealer(a.socket);
    try {
      first.send(body);
      let id: string | undefined;
      for (let i = 0; i < 100 && !id; i++) {
        const pending = JSON.parse((await core.carapace(["approvals", "--json"])).stdout) as Json[];
        id = pending.find((p) => p.correlation === correlation)?.id as string | undefined;
        if (!id) await Bun.sleep(20);
      }
      expect(id).toBeDefined();
      second.send(body); // same session, same request, a different connection (e.g. a restarted ipc)
      expect(await second.receive(200)).toBeNull(); // it waits for the running call, nothing runs twice
      expect((await core.carapace(["approve", id as string])).code).toBe(0);
      const expected = { kind: "result", correlation, result: { done: true, group: a.group } };
      expect(await first.receive(15_000)).toEqual(expected);
      expect(await second.receive(15_000)).toEqual(expected);
      await auditAfter(core, a.group, 0, (r) => r.correlation === correlation && r.kind === "routed");
      await Bun.sleep(50);
      expect(routedFor(a.group, correlation).length).toBe(1);
    } finally {
      first.close();
      second.close();
    }
  }, 60_000);
});
