import { describe, expect, test } from "bun:test";
import { ConfirmationGate } from "../../../src/core/confirmations.ts";
import { authorizeAndRateLimit } from "../../../src/core/pipeline/authorize.ts";
import { compose } from "../../../src/core/pipeline/compose.ts";
import { confirmation } from "../../../src/core/pipeline/confirm.ts";
import { construct } from "../../../src/core/pipeline/construct.ts";
import { CallAbort, type CallContext, cancelOn, Rejection, type StageDef } from "../../../src/core/pipeline/context.ts";
import { copyArguments, dispatch, handlerFailure } from "../../../src/core/pipeline/dispatch.ts";
import { frameLimits, jsonDepth, readFrame } from "../../../src/core/pipeline/frame-limits.ts";
import { firstErrorField, oversizedString, payloadValidation } from "../../../src/core/pipeline/payload.ts";
import { TokenBucketLimiter } from "../../../src/core/pipeline/token-bucket.ts";
import { topicWhitelist } from "../../../src/core/pipeline/topic.ts";
import { Catalog, InvokeFailure } from "../../../src/plugins/catalog.ts";
import { ToolError } from "../../../src/plugins/sdk/tool-error.ts";
import { errorObject } from "../../../src/protocol/errors.ts";
import { callContext, identity, limits, tool, wireMessage } from "../../harness/factories.ts";

const TEST_APPROVER = { channel: "test" };

async function runStage(stage: StageDef, ctx: CallContext): Promise<CallContext> {
  await compose([stage])(ctx);
  return ctx;
}

describe("compose", () => {
  const mk = (name: string, seen: string[], how: "sync" | "async" | "reject" | "reject-async" = "sync"): StageDef => ({
    name,
    stage: 2,
    run: () => {
      seen.push(name);
      if (how === "reject") throw new Rejection(errorObject("UNKNOWN_TOOL", "no"));
      if (how === "reject-async") return Promise.reject(new Rejection(errorObject("UNAUTHORIZED", "no")));
      if (how === "async") return Bun.sleep(1).then(() => void seen.push(`${name} done`));
      return undefined;
    },
  });

  test("runs stages in order and stops at the first rejection", async () => {
    const seen: string[] = [];
    const ctx = callContext({});
    await compose([mk("a", seen), mk("b", seen, "reject"), mk("c", seen)])(ctx);
    expect(seen).toEqual(["a", "b"]);
    expect(ctx.error?.code).toBe("UNKNOWN_TOOL");
  });

  test("a stage that returns a promise is waited for before the next starts; its rejection stops the chain", async () => {
    const seen: string[] = [];
    const ctx = callContext({});
    const chain = compose([mk("a", seen, "async"), mk("b", seen), mk("c", seen, "reject-async"), mk("d", seen)]);
    await chain(ctx);
    expect(seen).toEqual(["a", "a done", "b", "c"]);
    expect(ctx.error?.code).toBe("UNAUTHORIZED");
  });

  test("stages that decide at once finish before the chain returns, with no promise", () => {
    const seen: string[] = [];
    const ctx = callContext({});
    expect(compose([mk("a", seen), mk("b", seen, "reject"), mk("c", seen)])(ctx)).toBeUndefined();
    expect(seen).toEqual(["a", "b"]);
    expect(ctx.error?.code).toBe("UNKNOWN_TOOL");
  });

  test("a non-rejection error propagates (the runner turns it into a generic error)", async () => {
    const boom: StageDef = { name: "boom", stage: 6, run: () => Promise.reject(new Error("internal")) };
    await expect(compose([boom])(callContext({})) as Promise<void>).rejects.toThrow("internal");
    const thrown: StageDef = {
      name: "boom",
      stage: 6,
      run: () => {
        throw new Error("internal, at once");
      },
    };
    await expect(compose([thrown])(callContext({})) as Promise<void>).rejects.toThrow("internal, at once");
  });
});

describe("a call's cancellation", () => {
  test("its signal is aborted whether it was asked for before or after the abort", () => {
    const early = new CallAbort();
    const signal = early.signal;
    early.abort();
    expect(signal.aborted).toBe(true);
    const late = new CallAbort();
    expect(late.aborted).toBe(false);
    late.abort();
    expect(late.aborted).toBe(true);
    expect(late.signal.aborted).toBe(true);
  });

  test("a high-risk call whose session ended before it reached stage 5 is cancelled, never pending", async () => {
    const catalog = new Catalog();
    catalog.register(tool({ name: "t.danger", risk_level: "high" }));
    const gate = new ConfirmationGate();
    const cancel = new CallAbort();
    cancel.abort();
    const ctx = contextAfterConstruct(catalog, wireMessage({ topic: "tool.invoke.t.danger" }), { cancel });
    await compose([construct, topicWhitelist(catalog), confirmation(gate)])(ctx);
    expect(ctx.error).toMatchObject({
      code: "PLUGIN_UNAVAILABLE",
      message: expect.stringContaining("caller went away"),
    });
    expect(gate.list()).toEqual([]);
  });
});

describe("stage 3a: frame limits before parsing", () => {
  test("depth scan skips string contents", () => {
    expect(jsonDepth(new TextEncoder().encode('{"a":"[[[[[[[["}'), 3)).toBe(1);
    expect(jsonDepth(new TextEncoder().encode('{"a":"\\"[[["}'), 3)).toBe(1);
    expect(jsonDepth(new TextEncoder().encode("[[[[]]]]"), 10)).toBe(4);
  });

  test("oversized, too deep, non-UTF-8 and non-JSON frames are rejected with VALIDATION_FAILED stage 3", async () => {
    const big = await runStage(frameLimits, callContext("x".repeat(200), { limits: limits({ maxFrameBytes: 100 }) }));
    expect(big.error).toMatchObject({ code: "VALIDATION_FAILED", stage: 3 });
    const deep = await runStage(frameLimits, callContext(`${"[".repeat(70)}${"]".repeat(70)}`));
    expect(deep.error?.message).toContain("deeper");
    const bad = callContext("");
    const invalid = await runStage(frameLimits, { ...bad, raw: new Uint8Array([0x7b, 0xff, 0x7d]) });
    expect(invalid.error?.code).toBe("VALIDATION_FAILED");
    const notJson = await runStage(frameLimits, callContext("{nope"));
    expect(notJson.error?.message).toContain("JSON");
  });

  test("a valid frame is parsed for the next stage", async () => {
    const ctx = await runStage(frameLimits, callContext({ a: 1 }));
    expect(ctx.error).toBeUndefined();
    expect(ctx.parsed).toEqual({ a: 1 });
  });

  test("a reading the server already made is the one the stage decides on (the frame is parsed once)", async () => {
    const c = callContext({ a: 1 });
    const read = readFrame(c.raw, c.limits);
    expect(read).toEqual({ ok: true, value: { a: 1 } });
    expect((await runStage(frameLimits, { ...c, frame: read })).parsed).toBe((read as { value: unknown }).value);
    const refused = readFrame(c.raw, limits({ maxFrameBytes: 3 }));
    expect((await runStage(frameLimits, { ...c, frame: refused })).error?.message).toContain("larger than 3 bytes");
  });
});

describe("stage 1: construct envelope", () => {
  test("identity comes from the session, never from the wire", async () => {
    const ctx = callContext({}, { identity: identity("alpha", "sess-a", "container") });
    ctx.parsed = wireMessage();
    await runStage(construct, ctx);
    expect(ctx.envelope).toMatchObject({
      group: "alpha",
      session: "sess-a",
      source: "container",
      type: "request",
      version: 1,
    });
  });

  test("extra wire fields (a forged group) are rejected, not merged", async () => {
    const ctx = callContext({});
    ctx.parsed = { ...wireMessage(), group: "admin" };
    await runStage(construct, ctx);
    expect(ctx.error).toMatchObject({ code: "VALIDATION_FAILED", field: "/group" });
    expect(ctx.envelope).toBeUndefined();
  });

  test.each([
    [[], ""],
    [{ topic: 1, correlation: crypto.randomUUID(), arguments: {} }, "/topic"],
    [{ topic: "x", correlation: "not-a-uuid", arguments: {} }, "/correlation"],
    [{ topic: "x", correlation: crypto.randomUUID(), arguments: [] }, "/arguments"],
    [{ topic: "x", correlation: crypto.randomUUID(), arguments: null }, "/arguments"],
  ])("malformed wire %j → field %s", async (parsed, field) => {
    const ctx = callContext({});
    ctx.parsed = parsed;
    await runStage(construct, ctx);
    expect(ctx.error).toMatchObject({ code: "VALIDATION_FAILED", field });
  });
});

function contextAfterConstruct(
  _catalog: Catalog,
  wire = wireMessage(),
  overrides: Partial<CallContext> = {},
): CallContext {
  const ctx = callContext(wire, overrides);
  ctx.parsed = wire;
  return ctx;
}

describe("stage 2: topic whitelist", () => {
  const catalog = new Catalog();
  catalog.register(tool());
  test.each([
    "tool.invoke.t.nope",
    "message.inbound",
    "tool.invoke.",
    "tool.invoke.T.ECHO",
    "tool.invoke.../x",
    "tool.invoke.t.echo\u0000",
  ])("%j → UNKNOWN_TOOL", async (topic) => {
    const ctx = contextAfterConstruct(catalog, wireMessage({ topic }));
    await compose([construct, topicWhitelist(catalog)])(ctx);
    expect(ctx.error).toMatchObject({ code: "UNKNOWN_TOOL", stage: 2 });
  });
  test("a catalogued tool passes", async () => {
    const ctx = contextAfterConstruct(catalog);
    await compose([construct, topicWhitelist(catalog)])(ctx);
    expect(ctx.error).toBeUndefined();
    expect(ctx.tool?.name).toBe("t.echo");
  });
});

describe("stage 3b: payload validation", () => {
  const catalog = new Catalog();
  catalog.register(tool());
  const chain = compose([construct, topicWhitelist(catalog), payloadValidation]);

  test("schema errors carry the JSON pointer of the first error", async () => {
    const extra = contextAfterConstruct(catalog, wireMessage({ arguments: { message: "x", evil: 1 } }));
    await chain(extra);
    expect(extra.error).toMatchObject({ code: "VALIDATION_FAILED", field: "/evil" });
    const missing = contextAfterConstruct(catalog, wireMessage({ arguments: {} }));
    await chain(missing);
    expect(missing.error).toMatchObject({ field: "/message" });
    const wrongType = contextAfterConstruct(catalog, wireMessage({ arguments: { message: 5 } }));
    await chain(wrongType);
    expect(wrongType.error).toMatchObject({ field: "/message" });
  });

  test("__proto__ and constructor keys are harmless: rejected as additional properties", async () => {
    const parsed = JSON.parse(
      `{"topic":"tool.invoke.t.echo","correlation":"${crypto.randomUUID()}","arguments":{"message":"x","__proto__":{"polluted":true}}}`,
    );
    const ctx = callContext(parsed);
    ctx.parsed = parsed;
    await chain(ctx);
    expect(ctx.error?.field).toBe("/__proto__");
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test("a string argument over the limit is rejected with its pointer", async () => {
    const ctx = contextAfterConstruct(catalog, wireMessage({ arguments: { message: "x".repeat(50) } }), {
      limits: limits({ maxArgumentStringBytes: 10 }),
    });
    await chain(ctx);
    expect(ctx.error).toMatchObject({ code: "VALIDATION_FAILED", field: "/message" });
    expect(oversizedString({ a: [{ "b/c": "xxxx" }] }, 3)).toBe("/a/0/b~1c");
    // Bytes, not characters: 6 × "é" is 12 UTF-8 bytes; 5 is exactly 10.
    expect(oversizedString({ m: "é".repeat(6) }, 10)).toBe("/m");
    expect(oversizedString({ m: "é".repeat(5), n: 1, o: null, p: [true] }, 10)).toBeNull();
    expect(oversizedString({ m: ["ok", "x".repeat(11)] }, 10)).toBe("/m/1");
    expect(firstErrorField(undefined)).toBe("");
  });
});

describe("stage 4: authorization before rate limiting", () => {
  const limiters = () => ({
    perSession: new TokenBucketLimiter({ ratePerMinute: 60, burst: 2 }),
    perGroup: new TokenBucketLimiter({ ratePerMinute: 600, burst: 100 }),
  });

  test("a group not in allowed_groups gets UNAUTHORIZED and spends no token", async () => {
    const catalog = new Catalog();
    catalog.register(tool({ allowed_groups: ["admins"] }));
    const l = limiters();
    const chain = compose([construct, topicWhitelist(catalog), authorizeAndRateLimit(catalog, l)]);
    const ctx = contextAfterConstruct(catalog);
    await chain(ctx);
    expect(ctx.error).toMatchObject({ code: "UNAUTHORIZED", stage: 4 });
    expect(l.perSession.available("s1")).toBe(2);
  });

  test("the bucket empties into RATE_LIMITED with a whole-second retry_after", async () => {
    const catalog = new Catalog();
    catalog.register(tool());
    const chain = compose([construct, topicWhitelist(catalog), authorizeAndRateLimit(catalog, limiters())]);
    const results: (string | undefined)[] = [];
    for (let i = 0; i < 3; i++) {
      const ctx = contextAfterConstruct(catalog);
      await chain(ctx);
      results.push(ctx.error?.code);
      if (ctx.error) expect(ctx.error.retry_after).toBeGreaterThanOrEqual(1);
    }
    expect(results).toEqual([undefined, undefined, "RATE_LIMITED"]);
  });
});

describe("stage 5: confirmation", () => {
  const highRisk = tool({ name: "t.danger", risk_level: "high" });
  const setup = () => {
    const catalog = new Catalog();
    catalog.register(highRisk);
    const gate = new ConfirmationGate();
    let ran = 0;
    const counting: StageDef = {
      name: "count",
      stage: 6,
      run: () => {
        ran++;
        return undefined;
      },
    };
    const chain = compose([construct, topicWhitelist(catalog), confirmation(gate), counting]);
    return { gate, chain, catalog, ran: () => ran };
  };
  const wire = () => wireMessage({ topic: "tool.invoke.t.danger" });

  test("approval lets the call run; the pending entry is removed", async () => {
    const { gate, chain, catalog, ran } = setup();
    let pendingId = "";
    const ctx = contextAfterConstruct(catalog, wire(), {
      onPendingConfirmation: (id) => {
        pendingId = id;
      },
    });
    const done = chain(ctx);
    for (let i = 0; i < 1000 && !pendingId; i++) await Bun.sleep(5);
    expect(gate.list().map((p) => p.id)).toEqual([pendingId]);
    expect(gate.list()[0]?.summary).toContain("hi");
    expect(gate.answer(pendingId, true, TEST_APPROVER).ok).toBe(true);
    await done;
    expect(ctx.error).toBeUndefined();
    expect(ran()).toBe(1);
    expect(gate.list()).toEqual([]);
    expect(gate.answer(pendingId, true, TEST_APPROVER).ok).toBe(false);
  });

  test("denial gives CONFIRMATION_DENIED and the call never runs", async () => {
    const { gate, chain, catalog, ran } = setup();
    const ctx = contextAfterConstruct(catalog, wire(), {
      onPendingConfirmation: (id) => gate.answer(id, false, TEST_APPROVER),
    });
    await chain(ctx);
    expect(ctx.error).toMatchObject({ code: "CONFIRMATION_DENIED", stage: 5 });
    expect(ran()).toBe(0);
  });

  test("no answer in time gives CONFIRMATION_TIMEOUT; a late approval is refused", async () => {
    const { gate, chain, catalog, ran } = setup();
    let id = "";
    const ctx = contextAfterConstruct(catalog, wire(), {
      limits: limits({ confirmationTimeoutMs: 30 }),
      onPendingConfirmation: (x) => {
        id = x;
      },
    });
    await chain(ctx);
    expect(ctx.error).toMatchObject({ code: "CONFIRMATION_TIMEOUT", retriable: true });
    expect(gate.answer(id, true, TEST_APPROVER).ok).toBe(false);
    expect(ran()).toBe(0);
  });

  test("a caller that goes away cancels the pending call", async () => {
    const { gate, chain, catalog, ran } = setup();
    const controller = new AbortController();
    const ctx = contextAfterConstruct(catalog, wire(), {
      cancel: cancelOn(controller.signal),
      onPendingConfirmation: () => controller.abort(),
    });
    await chain(ctx);
    expect(ctx.error?.code).toBe("PLUGIN_UNAVAILABLE");
    expect(gate.list()).toEqual([]);
    expect(ran()).toBe(0);
  });

  test("too many pending confirmations per session are refused", async () => {
    const { gate, chain, catalog } = setup();
    const ctxs = [0, 1].map(() =>
      contextAfterConstruct(catalog, wire(), { limits: limits({ maxPendingConfirmationsPerSession: 1 }) }),
    );
    const first = chain(ctxs[0] as CallContext);
    await chain(ctxs[1] as CallContext);
    expect(ctxs[1]?.error?.code).toBe("RATE_LIMITED");
    gate.cancelAll();
    await first;
  });

  test("low-risk tools pass straight through", async () => {
    const catalog = new Catalog();
    catalog.register(tool());
    const ctx = contextAfterConstruct(catalog);
    await compose([construct, topicWhitelist(catalog), confirmation(new ConfirmationGate())])(ctx);
    expect(ctx.error).toBeUndefined();
  });
});

describe("stage 6: dispatch", () => {
  async function dispatchWith(t: ReturnType<typeof tool>, overrides: Partial<CallContext> = {}): Promise<CallContext> {
    const catalog = new Catalog();
    catalog.register(t);
    const ctx = contextAfterConstruct(catalog, wireMessage({ topic: `tool.invoke.${t.name}` }), overrides);
    await compose([construct, topicWhitelist(catalog), dispatch])(ctx);
    return ctx;
  }

  /** A tool that records whether it ran. */
  function watchedTool(): { entry: ReturnType<typeof tool>; ran: () => boolean } {
    let ran = false;
    const entry = tool({
      invoke: () => {
        ran = true;
        return {};
      },
    });
    return { entry, ran: () => ran };
  }

  test("a reply is serialized once: a getter that grows on its second read cannot pass the size limit", async () => {
    let reads = 0;
    const shifty = {
      get text() {
        reads++;
        return reads === 1 ? "small" : "x".repeat(3 * 1024 * 1024);
      },
    };
    const ctx = await dispatchWith(tool({ invoke: () => shifty }), {
      limits: limits({ maxResponseBytes: 1024 * 1024 }),
    });
    expect(ctx.error).toBeUndefined();
    // What later stages (sanitizer, reply) see is the snapshot that was measured, not the live object.
    expect(ctx.result).toEqual({ text: "small" });
    expect(JSON.stringify(ctx.result)).toBe('{"text":"small"}');
    expect(JSON.stringify(ctx.result).length).toBeLessThan(1024 * 1024);
  });

  test("a plugin process that is gone, slow or oversized maps to its pipeline code", async () => {
    for (const code of ["PLUGIN_UNAVAILABLE", "PLUGIN_TIMEOUT", "HANDLER_ERROR"] as const) {
      const ctx = await dispatchWith(
        tool({
          invoke: () => {
            throw new InvokeFailure(code, "said by the host");
          },
        }),
      );
      expect(ctx.error).toMatchObject({ code, stage: 6, message: "said by the host" });
    }
  });

  test("the handler gets a copy of the arguments and the envelope's context", async () => {
    let seen: unknown;
    const ctx = await dispatchWith(
      tool({
        invoke: (args, c) => {
          seen = c;
          args.message = "mutated";
          return { ok: true };
        },
      }),
    );
    expect(ctx.result).toEqual({ ok: true });
    expect(ctx.envelope?.payload.arguments.message).toBe("hi");
    expect(seen).toMatchObject({ group: "test", sessionId: "s1", source: "test" });
  });

  test("the copy of the arguments is deep, keeps an own __proto__ key as data, and copies what JSON does not have", () => {
    const parsed = JSON.parse('{"a":{"b":[1,{"c":"d"}]},"__proto__":{"polluted":true},"n":null,"t":true}');
    const copy = copyArguments(parsed) as Record<string, unknown>;
    expect(copy).toEqual(parsed);
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(Object.hasOwn(copy, "__proto__")).toBe(true);
    expect((copy as { polluted?: boolean }).polluted).toBeUndefined();
    (copy.a as { b: unknown[] }).b.push("changed");
    ((copy.a as { b: { c: string }[] }).b[1] as { c: string }).c = "changed";
    expect(parsed.a.b).toEqual([1, { c: "d" }]);
    const when = new Date(0);
    const odd = copyArguments({ when, deep: JSON.parse(`${"[".repeat(80)}1${"]".repeat(80)}`) }) as { when: Date };
    expect(odd.when).toEqual(when);
    expect(odd.when).not.toBe(when);
    expect(() => copyArguments({ f: () => 1 })).toThrow();
  });

  test("a hanging handler gives PLUGIN_TIMEOUT, not retriable: the tool may still complete", async () => {
    const ctx = await dispatchWith(tool({ invoke: () => new Promise(() => {}) }), {
      limits: limits({ handlerTimeoutMs: 20 }),
    });
    expect(ctx.error).toMatchObject({ code: "PLUGIN_TIMEOUT", stage: 6, retriable: false });
    expect(ctx.ran).toBe(true);
  });

  test("a session that ends while the tool runs: PLUGIN_UNAVAILABLE at once, not retriable, the late outcome told", async () => {
    const controller = new AbortController();
    const late: { ok: boolean; afterMs: number }[] = [];
    let finish: (v: unknown) => void = () => {};
    const pending = dispatchWith(tool({ invoke: () => new Promise((resolve) => (finish = resolve)) }), {
      cancel: cancelOn(controller.signal),
      limits: limits({ handlerTimeoutMs: 60_000 }),
      onLateOutcome: (o) => void late.push(o),
    });
    await Bun.sleep(5);
    controller.abort();
    const ctx = await pending;
    expect(ctx.error).toMatchObject({ code: "PLUGIN_UNAVAILABLE", stage: 6, retriable: false });
    finish({ ok: true });
    await Bun.sleep(1);
    expect(late).toEqual([{ ok: true, afterMs: expect.any(Number) }]);
  });

  test("a call whose session ended before stage 6 does not run: no intent, no tool", async () => {
    const cancel = new CallAbort();
    cancel.abort();
    const watched = watchedTool();
    let intents = 0;
    const ctx = await dispatchWith(watched.entry, { cancel, recordIntent: async () => void intents++ });
    expect(ctx.error).toMatchObject({ code: "PLUGIN_UNAVAILABLE", stage: 6 });
    expect(watched.ran()).toBe(false);
    expect(intents).toBe(0);
    expect(ctx.ran).toBeUndefined();
  });

  test("the record of intent is written before the tool starts; the tool waits for it", async () => {
    const order: string[] = [];
    const ctx = await dispatchWith(
      tool({
        invoke: () => {
          order.push("tool");
          return { ok: true };
        },
      }),
      {
        recordIntent: async () => {
          await Bun.sleep(5);
          order.push("intent");
        },
      },
    );
    expect(order).toEqual(["intent", "tool"]);
    expect(ctx.ran).toBe(true);
  });

  test("an intent that cannot be recorded: the tool does not run, and the refusal is retriable", async () => {
    const watched = watchedTool();
    const ctx = await dispatchWith(watched.entry, { recordIntent: () => Promise.reject(new Error("ENOSPC")) });
    expect(watched.ran()).toBe(false);
    expect(ctx.ran).toBeUndefined();
    expect(ctx.error).toMatchObject({ code: "PLUGIN_UNAVAILABLE", retriable: true });
  });

  test("a call whose caller's deadline passed is not run", async () => {
    const watched = watchedTool();
    let intents = 0;
    const ctx = await dispatchWith(watched.entry, {
      deadline: () => Date.now() - 1,
      recordIntent: async () => void intents++,
    });
    expect(watched.ran()).toBe(false);
    expect(intents).toBe(0);
    expect(ctx.error).toMatchObject({ code: "PLUGIN_TIMEOUT", stage: 6, retriable: true });
    expect(ctx.error?.message).toContain("did not run");
  });

  test("a tool that finishes after its timeout reports its late outcome", async () => {
    const late = Promise.withResolvers<{ ok: boolean; afterMs: number }>();
    const ctx = await dispatchWith(tool({ invoke: () => Bun.sleep(40).then(() => ({ done: true })) }), {
      limits: limits({ handlerTimeoutMs: 10 }),
      onLateOutcome: (o) => late.resolve(o),
    });
    expect(ctx.error).toMatchObject({ code: "PLUGIN_TIMEOUT", retriable: false });
    expect(await late.promise).toMatchObject({ ok: true });
  });

  test("an unavailable plugin gives PLUGIN_UNAVAILABLE", async () => {
    const ctx = await dispatchWith(tool({ available: () => false }));
    expect(ctx.error?.code).toBe("PLUGIN_UNAVAILABLE");
  });

  test("a plain Error becomes a generic PLUGIN_ERROR with no internals", async () => {
    const ctx = await dispatchWith(
      tool({
        invoke: () => {
          throw new Error("db password=hunter2 at /secret/path");
        },
      }),
    );
    expect(ctx.error).toEqual({ code: "PLUGIN_ERROR", message: "the tool failed", retriable: false, stage: 6 });
  });

  test("a ToolError arrives as HANDLER_ERROR with its message and code", async () => {
    const ctx = await dispatchWith(
      tool({
        invoke: () => {
          throw new ToolError("NOT_FOUND", "no such note", { retriable: true });
        },
      }),
    );
    expect(ctx.error).toMatchObject({
      code: "HANDLER_ERROR",
      message: "no such note",
      handler_code: "NOT_FOUND",
      retriable: true,
    });
  });

  test("a ToolError with a pipeline code is normalized and remembered for the audit", async () => {
    const ctx = await dispatchWith(
      tool({
        invoke: () => {
          throw new ToolError("RATE_LIMITED", "slow down");
        },
      }),
    );
    expect(ctx.error?.code).toBe("HANDLER_ERROR");
    expect(ctx.error?.handler_code).toBeUndefined();
    expect(ctx.forgedCode).toBe("RATE_LIMITED");
    expect(handlerFailure(new ToolError("UNAUTHORIZED", "x")).forgedCode).toBe("UNAUTHORIZED");
  });

  test("a reply over the response limit gives HANDLER_ERROR", async () => {
    const ctx = await dispatchWith(tool({ invoke: () => ({ big: "x".repeat(200) }) }), {
      limits: limits({ maxResponseBytes: 100 }),
    });
    expect(ctx.error).toMatchObject({ code: "HANDLER_ERROR", stage: 6 });
  });
});
