import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { ToolError } from "../../src/plugins/sdk/tool-error.ts";
import { tool } from "../harness/factories.ts";
import { inProcessCore } from "../harness/in-process.ts";

const TEST_APPROVER = { channel: "test" };

type Core = Awaited<ReturnType<typeof inProcessCore>>;

/** Every error code of the wire protocol through real sockets, checking the reply and the audit record. */
describe("the running server: every error code, reply and audit", () => {
  let core: Core;
  let session: ReturnType<Core["server"]["openSession"]>;
  let c: ReturnType<Core["client"]>;

  beforeAll(async () => {
    core = await inProcessCore({
      // Short enough for the timeout cases, long enough that a loaded machine answers the confirmations and
      // runs the quick tools in time.
      limits: {
        handlerTimeoutMs: 1_000,
        confirmationTimeoutMs: 2_000,
        rateLimitBurst: 1000,
        rateLimitPerMinute: 60000,
      },
      tools: [
        tool({ name: "t.admin", allowed_groups: ["admins"] }),
        tool({ name: "t.danger", risk_level: "high" }),
        tool({ name: "t.hang", invoke: () => new Promise(() => {}) }),
        tool({ name: "t.down", available: () => false }),
        tool({
          name: "t.crash",
          invoke: () => {
            throw new Error("stack /etc/secret sk-ant-api03-abcdefghijklmnopqrstu");
          },
        }),
        tool({
          name: "t.toolerr",
          invoke: () => {
            throw new ToolError("NOPE", "not today");
          },
        }),
        tool({
          name: "t.forge",
          invoke: () => {
            throw new ToolError("UNAUTHORIZED", "forged");
          },
        }),
        tool({
          name: "t.leak",
          invoke: () => ({
            token: "Bearer abcdefghijklmnopqrstuvwxyz123456",
            note: "key sk-ant-api03-abcdefghijklmnopqrstuvwx",
          }),
        }),
      ],
    });
    session = core.server.openSession("work", "test");
    c = core.client(session.socketPath);
  });
  afterAll(async () => {
    await core.close();
  });

  const auditFor = async (correlation: string, kind?: string) => {
    for (let i = 0; i < 1000; i++) {
      const hit = core
        .audit("work")
        .find((r) => r.correlation === correlation && (kind ? r.kind === kind : r.kind !== "intent"));
      if (hit) return hit;
      await Bun.sleep(10);
    }
    throw new Error(`no audit record for ${correlation}`);
  };

  test("success is routed and audited", async () => {
    const { reply, correlation } = c.request("tool.invoke.hello.echo", { message: "hi" });
    expect(await reply).toMatchObject({ kind: "result", result: { message: "hi" } });
    expect(await auditFor(correlation)).toMatchObject({
      kind: "routed",
      outcome: "ok",
      group: "work",
      session: session.id,
    });
  });

  test.each([
    ["UNKNOWN_TOOL", 2, "tool.invoke.nope", {}],
    ["VALIDATION_FAILED", 3, "tool.invoke.hello.echo", { message: 1 }],
    ["UNAUTHORIZED", 4, "tool.invoke.t.admin", { message: "x" }],
    ["PLUGIN_TIMEOUT", 6, "tool.invoke.t.hang", { message: "x" }],
    ["PLUGIN_UNAVAILABLE", 6, "tool.invoke.t.down", { message: "x" }],
    ["PLUGIN_ERROR", 6, "tool.invoke.t.crash", { message: "x" }],
    ["HANDLER_ERROR", 6, "tool.invoke.t.toolerr", { message: "x" }],
    ["CONFIRMATION_TIMEOUT", 5, "tool.invoke.t.danger", { message: "x" }],
  ])("%s (stage %d)", async (code, stage, topic, args) => {
    const { reply, correlation } = c.request(topic, args);
    const r = await reply;
    expect(r).toMatchObject({ kind: "error", error: { code, stage } });
    const record = await auditFor(correlation, stage < 6 ? "rejected" : "error");
    expect(record).toMatchObject({ code, stage, outcome: stage < 6 ? "rejected" : "error" });
  });

  test("PLUGIN_ERROR carries no internals, in the reply or the audit", async () => {
    const { reply, correlation } = c.request("tool.invoke.t.crash", { message: "x" });
    const text = JSON.stringify(await reply);
    expect(text).not.toContain("/etc/secret");
    expect(text).not.toContain("sk-ant");
    expect(JSON.stringify(await auditFor(correlation))).not.toContain("sk-ant");
  });

  test("CONFIRMATION_DENIED: a person says no through the gate", async () => {
    const { reply, correlation, heartbeats } = c.request("tool.invoke.t.danger", { message: "x" });
    for (let i = 0; i < 1000 && (core.approvals.list().length === 0 || heartbeats.length === 0); i++)
      await Bun.sleep(10);
    const pending = core.approvals.list();
    expect(pending).toHaveLength(1);
    expect(heartbeats[0]).toMatchObject({ kind: "heartbeat", state: "pending_confirmation" });
    core.approvals.answer(pending[0]?.id as string, false, TEST_APPROVER);
    expect(await reply).toMatchObject({ error: { code: "CONFIRMATION_DENIED", stage: 5 } });
    expect(await auditFor(correlation, "rejected")).toMatchObject({ code: "CONFIRMATION_DENIED" });
    expect(await auditFor(correlation, "confirmation")).toMatchObject({
      stage: 5,
      detail: { decision: "denied", approver: TEST_APPROVER },
    });
  });

  test("an approved high-risk call runs", async () => {
    const { reply } = c.request("tool.invoke.t.danger", { message: "go" });
    for (let i = 0; i < 1000 && core.approvals.list().length === 0; i++) await Bun.sleep(10);
    core.approvals.answer(core.approvals.list()[0]?.id as string, true, TEST_APPROVER);
    expect(await reply).toMatchObject({ kind: "result", result: { echoed: "go" } });
  });

  test("a forged pipeline code is normalized to HANDLER_ERROR and both forms are audited", async () => {
    const { reply, correlation } = c.request("tool.invoke.t.forge", { message: "x" });
    expect(await reply).toMatchObject({ error: { code: "HANDLER_ERROR" } });
    expect(await auditFor(correlation, "normalized")).toMatchObject({
      detail: { forged_code: "UNAUTHORIZED", normalized_to: "HANDLER_ERROR" },
    });
    expect(await auditFor(correlation, "error")).toMatchObject({ code: "HANDLER_ERROR" });
  });

  test("credentials in a reply are scrubbed and the touched paths audited, never the values", async () => {
    const { reply, correlation } = c.request("tool.invoke.t.leak", { message: "x" });
    const text = JSON.stringify(await reply);
    expect(text).not.toContain("abcdefghijklmnopqrstuvwxyz123456");
    expect(text).toContain("REDACTED");
    const record = await auditFor(correlation, "sanitized");
    expect(JSON.stringify(record)).not.toContain("abcdefghij");
    expect((record.detail as { paths: string[] }).paths.length).toBeGreaterThan(0);
  });

  test("a repeated correlation is answered from the cache, not run twice; a different request on it is refused", async () => {
    const correlation = crypto.randomUUID();
    const first = c.request("tool.invoke.hello.echo", { message: "once" }, correlation);
    await first.reply;
    const again = c.request("tool.invoke.hello.echo", { message: "once" }, correlation);
    expect(await again.reply).toMatchObject({ kind: "result", result: { message: "once" } });
    await Bun.sleep(30);
    expect(core.audit("work").filter((r) => r.correlation === correlation && r.kind === "routed")).toHaveLength(1);
    const other = c.request("tool.invoke.hello.echo", { message: "different" }, correlation);
    expect(await other.reply).toMatchObject({ error: { code: "VALIDATION_FAILED", field: "/correlation" } });
  });

  test("a frame without the empty delimiter is dropped and counted", async () => {
    const before = core.server.droppedFrames;
    c.raw(["extra-frame", "{}"]);
    for (let i = 0; i < 1000 && core.server.droppedFrames === before; i++) await Bun.sleep(10);
    expect(core.server.droppedFrames).toBe(before + 1);
  });
});

describe("sessions and identity", () => {
  test("each session's group comes from its own socket; a closed session's socket is removed", async () => {
    const core = await inProcessCore();
    try {
      const a = core.server.openSession("alpha", "test");
      const b = core.server.openSession("beta", "test");
      expect(a.socketPath).not.toBe(b.socketPath);
      const cb = core.client(b.socketPath);
      const { reply, correlation } = cb.request("tool.invoke.hello.echo", { message: "from b" });
      await reply;
      await Bun.sleep(30);
      expect(core.audit("beta").some((r) => r.correlation === correlation)).toBe(true);
      expect(core.audit("alpha").some((r) => r.correlation === correlation)).toBe(false);
      expect(core.server.closeSession(a.id)).toBe(true);
      expect(existsSync(a.socketPath)).toBe(false);
      expect(core.server.closeSession(a.id)).toBe(false);
    } finally {
      await core.close();
    }
  });

  test("invalid group names and too many sessions per group are refused", async () => {
    const core = await inProcessCore({ limits: { maxSessionsPerGroup: 1 } });
    try {
      expect(() => core.server.openSession("../etc", "test")).toThrow("invalid group name");
      core.server.openSession("solo", "test");
      expect(() => core.server.openSession("solo", "test")).toThrow("already has 1 sessions");
    } finally {
      await core.close();
    }
  });

  test("the operator's `call` runs through the same stages with source cli", async () => {
    const core = await inProcessCore();
    try {
      expect(await core.server.callAsOperator("hello.greet", { name: "op" }, "ops")).toMatchObject({
        kind: "result",
        result: { greeting: "Hello, op!" },
      });
      expect(await core.server.callAsOperator("hello.greet", { nom: "op" }, "ops")).toMatchObject({
        kind: "error",
        error: { code: "VALIDATION_FAILED" },
      });
    } finally {
      await core.close();
    }
  });

  test("the operator's call is checked for depth on its parsed value, and answered with its own correlation", async () => {
    const core = await inProcessCore({ limits: { maxJsonDepth: 4 } });
    try {
      const deep = await core.server.callAsOperator("hello.greet", { name: { a: { b: { c: 1 } } } }, "ops");
      expect(deep).toMatchObject({
        kind: "error",
        error: { code: "VALIDATION_FAILED", message: "message is nested deeper than 4 levels" },
      });
      expect(deep.correlation).toMatch(/^[0-9a-f-]{36}$/);
      const record = core.audit("ops").find((r) => r.code === "VALIDATION_FAILED");
      expect(record).toMatchObject({ kind: "rejected", stage: 3 });
      // Within the limit, the same call reaches stage 3's schema check instead.
      expect(await core.server.callAsOperator("hello.greet", { name: { a: 1 } }, "ops")).toMatchObject({
        kind: "error",
        error: { code: "VALIDATION_FAILED", field: "/name" },
      });
    } finally {
      await core.close();
    }
  });

  test("a running call is cancelled when its session ends: PLUGIN_UNAVAILABLE at once, not at its time limit", async () => {
    const core = await inProcessCore({
      limits: { handlerTimeoutMs: 60_000 },
      tools: [tool({ name: "t.hang", invoke: () => new Promise(() => {}) })],
    });
    try {
      const s = core.server.openSession("g", "test");
      const { correlation } = core.client(s.socketPath).request("tool.invoke.t.hang", { message: "x" });
      const find = async (kind: string, ms: number) => {
        for (const end = Date.now() + ms; Date.now() < end; ) {
          const hit = core.audit("g").find((r) => r.correlation === correlation && r.kind === kind);
          if (hit) return hit;
          await Bun.sleep(10);
        }
        return undefined;
      };
      expect(await find("intent", 10_000)).toBeDefined();
      core.server.closeSession(s.id);
      // Well before the first heartbeat (2 s) could find the caller gone.
      expect(await find("error", 1_500)).toMatchObject({ code: "PLUGIN_UNAVAILABLE", stage: 6 });
    } finally {
      await core.close();
    }
  });

  test("a pending confirmation is cancelled when its session ends and never runs", async () => {
    let ran = 0;
    const core = await inProcessCore({
      tools: [
        tool({
          name: "t.danger",
          risk_level: "high",
          invoke: () => {
            ran++;
            return {};
          },
        }),
      ],
    });
    try {
      const s = core.server.openSession("g", "test");
      const cl = core.client(s.socketPath);
      cl.request("tool.invoke.t.danger", { message: "x" });
      for (let i = 0; i < 1000 && core.approvals.list().length === 0; i++) await Bun.sleep(10);
      const [pending] = core.approvals.list();
      expect(pending).toBeDefined();
      core.server.closeSession(s.id);
      await Bun.sleep(10);
      expect(core.approvals.answer(pending?.id as string, true, TEST_APPROVER).ok).toBe(false);
      await Bun.sleep(10);
      expect(ran).toBe(0);
    } finally {
      await core.close();
    }
  });
});
