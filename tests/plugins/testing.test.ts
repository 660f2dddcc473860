/** `@carapace/testing`: the kit plugin authors write their handler tests with. */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import {
  assertNoSecretLeak,
  createTestContext,
  fakeCoreServices,
  fakeCredentialStore,
  findSecretLeaks,
  invokeTool,
} from "@carapace/testing";
import echo from "../../examples/echo/handler.ts";
import { compose } from "../../src/core/pipeline/compose.ts";
import { construct } from "../../src/core/pipeline/construct.ts";
import { dispatch } from "../../src/core/pipeline/dispatch.ts";
import { payloadValidation } from "../../src/core/pipeline/payload.ts";
import type { ToolEntry } from "../../src/plugins/catalog.ts";
import type { PluginHandler } from "../../src/plugins/sdk/types.ts";
import { runConformance } from "../../src/plugins/testing/conformance.ts";
import { invalidArguments, minimalValue } from "../../src/plugins/testing/sample-args.ts";
import leakSecret from "../fixtures/plugins/leak-secret/handler.ts";
import { maliciousVector } from "../fixtures/plugins/malicious.ts";
import plainError from "../fixtures/plugins/plain-error/handler.ts";
import servicesProbe from "../fixtures/plugins/services-probe/handler.ts";
import toolError from "../fixtures/plugins/tool-error/handler.ts";
import { callContext, limits, tool as toolEntry } from "../harness/factories.ts";
import { removeHomes, tempHome } from "./helpers.ts";

afterAll(removeHomes);
const FIXTURES = join(import.meta.dir, "../fixtures/plugins");
const ECHO = join(import.meta.dir, "../../examples/echo");

describe("a handler test in under 20 lines", () => {
  test("echo: a valid call answers, an invalid one is refused before the handler runs", async () => {
    const ctx = createTestContext({ plugin: ECHO, group: "family" });
    const ok = await invokeTool(echo, "echo.say", { message: "hi", times: 2 }, ctx);
    expect(ok).toEqual({ ok: true, result: { echo: "hi hi" } });
    assertNoSecretLeak(ok);
    const bad = await invokeTool(echo, "echo.say", { message: "hi", extra: 1 }, ctx);
    expect(bad).toMatchObject({ ok: false, error: { code: "VALIDATION_FAILED", stage: 3, field: "/extra" } });
    expect(ctx.services.callsOf("log")).toHaveLength(1);
    expect(ctx.services.logs[0]?.message).toContain("family");
  });
});

describe("invokeTool mirrors the core", () => {
  test("a ToolError arrives as HANDLER_ERROR with its message and handler_code", async () => {
    const ctx = createTestContext({ plugin: join(FIXTURES, "tool-error") });
    const r = await invokeTool(toolError, "tool_error.run", {}, ctx);
    expect(r).toMatchObject({
      ok: false,
      error: { code: "HANDLER_ERROR", message: "my message", handler_code: "MY_CODE", stage: 6 },
    });
  });

  test("any other error is PLUGIN_ERROR with generic text (the thrown value is kept for the test)", async () => {
    const ctx = createTestContext({ plugin: join(FIXTURES, "plain-error") });
    const r = await invokeTool(plainError, "plain_error.run", {}, ctx);
    expect(r).toMatchObject({ ok: false, error: { code: "PLUGIN_ERROR", message: "the tool failed" } });
    expect(JSON.stringify(r.ok ? null : r.error)).not.toContain("INTERNAL-DETAIL");
    expect(r.ok ? null : (r.thrown as Error).message).toContain("INTERNAL-DETAIL");
  });

  test("unknown tools, non-object and oversized arguments are refused like stages 2 and 3", async () => {
    const ctx = createTestContext({ plugin: ECHO });
    expect(await invokeTool(echo, "echo.nope", {}, ctx)).toMatchObject({ error: { code: "UNKNOWN_TOOL" } });
    expect(await invokeTool(echo, "echo.say", [1], ctx)).toMatchObject({ error: { code: "VALIDATION_FAILED" } });
    const huge = { message: "x".repeat(100 * 1024 + 1) };
    expect(await invokeTool(echo, "echo.say", huge, ctx)).toMatchObject({
      error: { code: "VALIDATION_FAILED", field: "/message" },
    });
  });

  test("a handler that hangs gets PLUGIN_TIMEOUT; one that answers too much gets HANDLER_ERROR", async () => {
    const manifest = {
      description: "t",
      version: "1.0.0",
      provides: {
        tools: [
          {
            name: "t.run",
            description: "t",
            risk_level: "low" as const,
            arguments_schema: { type: "object", additionalProperties: false, properties: {} },
          },
        ],
      },
    };
    const ctx = createTestContext({ manifest });
    const hang: PluginHandler = { initialize() {}, handleToolInvocation: () => new Promise(() => {}) };
    const big: PluginHandler = { initialize() {}, handleToolInvocation: () => "x".repeat(1024 * 1024 + 1) };
    expect(await invokeTool(hang, "t.run", {}, ctx, { timeoutMs: 50 })).toMatchObject({
      error: { code: "PLUGIN_TIMEOUT" },
    });
    expect(await invokeTool(big, "t.run", {}, ctx)).toMatchObject({ error: { code: "HANDLER_ERROR" } });
  });

  test("the answers are the core's own stages' answers, word for word", async () => {
    const ctx = createTestContext({ plugin: ECHO });
    const hang: PluginHandler = { initialize() {}, handleToolInvocation: () => new Promise(() => {}) };
    const call = callContext({}, { limits: limits({ handlerTimeoutMs: 50 }) });
    const viaCore = async (tool: ToolEntry, args: unknown): Promise<unknown> => {
      const c = {
        ...call,
        parsed: { topic: "tool.invoke.echo.say", correlation: crypto.randomUUID(), arguments: args },
        tool,
      };
      await compose([construct, payloadValidation, dispatch])(c);
      return c.error ?? null;
    };
    const entry = toolEntry({
      name: "echo.say",
      arguments_schema: (ctx.manifest?.provides.tools ?? [])[0]?.arguments_schema ?? {},
      invoke: () => new Promise(() => {}),
    });
    const errorOf = (outcome: Awaited<ReturnType<typeof invokeTool>>): unknown => (outcome.ok ? null : outcome.error);
    const timedOut = await invokeTool(hang, "echo.say", { message: "hi" }, ctx, { timeoutMs: 50 });
    expect(errorOf(timedOut)).toMatchObject({ code: "PLUGIN_TIMEOUT", retriable: false });
    expect(errorOf(timedOut)).toEqual(await viaCore(entry, { message: "hi" }));
    const notAnObject = await invokeTool(echo, "echo.say", [1], ctx);
    expect(errorOf(notAnObject)).toMatchObject({ code: "VALIDATION_FAILED", field: "/arguments" });
    expect(errorOf(notAnObject)).toEqual(await viaCore(entry, [1]));
    const extra = await invokeTool(echo, "echo.say", { message: "hi", extra: 1 }, ctx);
    expect(errorOf(extra)).toMatchObject({ code: "VALIDATION_FAILED", field: "/extra" });
    expect(errorOf(extra)).toEqual(await viaCore(entry, { message: "hi", extra: 1 }));
  });

  test("the handler is initialized once per context, with the context's services", async () => {
    let inits = 0;
    const ctx = createTestContext({ plugin: ECHO });
    const counting: PluginHandler = { ...echo, initialize: () => void inits++ };
    await invokeTool(counting, "echo.say", { message: "a" }, ctx);
    await invokeTool(counting, "echo.say", { message: "b" }, ctx);
    expect(inits).toBe(1);
  });

  test("without a manifest invokeTool says how to give it one", async () => {
    await expect(invokeTool(echo, "echo.say", {}, createTestContext())).rejects.toThrow(/import\.meta\.dir/);
  });

  test("a manifest the core would refuse fails createTestContext with the category", () => {
    const dir = join(tempHome(), "open");
    maliciousVector("open-nested").write(dir, dirname(dir));
    expect(() => createTestContext({ plugin: dir })).toThrow(/schema_open/);
  });
});

describe("fake services", () => {
  test("readCredential reaches only declared keys, and every call is recorded", async () => {
    const store = fakeCredentialStore({ probe_token: "abc", other: "zzz" });
    const ctx = createTestContext({ plugin: join(FIXTURES, "services-probe"), credentials: store, group: "g1" });
    const found = await invokeTool(servicesProbe, "services_probe.credential", { key: "probe_token" }, ctx);
    expect(found).toEqual({ ok: true, result: { found: true, length: 3 } });
    const refused = await invokeTool(servicesProbe, "services_probe.credential", { key: "other" }, ctx);
    expect(refused).toMatchObject({ ok: false, error: { code: "HANDLER_ERROR", handler_code: "CREDENTIAL_REFUSED" } });
    expect(store.reads).toEqual(["probe_token"]);
    expect(ctx.services.callsOf("readCredential").map((c) => c.args[0])).toEqual(["probe_token", "other"]);
  });

  test("session info, catalog and published events are the context's", async () => {
    const ctx = createTestContext({ plugin: join(FIXTURES, "services-probe"), group: "g2", sessionId: "s-9" });
    const info = await invokeTool(servicesProbe, "services_probe.info", {}, ctx);
    expect(info).toMatchObject({ ok: true, result: { info: { group: "g2", sessionId: "s-9" } } });
    expect((info.ok ? (info.result as { tools: string[] }).tools : []).length).toBe(4);
    await invokeTool(servicesProbe, "services_probe.publish", { text: "hello" }, ctx);
    expect(ctx.services.events).toEqual([{ topic: "message.inbound", payload: { text: "hello" }, group: "g2" }]);
  });

  test("getAuditLog filters the given records; dataDir checks the name and creates the folder", async () => {
    const services = fakeCoreServices({
      auditRecords: [
        { seq: 1, timestamp: "t", kind: "request", correlation: "a", outcome: "ok" },
        { seq: 2, timestamp: "t", kind: "request", correlation: "b", outcome: "error" },
      ],
    });
    expect((await services.getAuditLog({ outcome: "error" })).map((r) => r.seq)).toEqual([2]);
    expect(existsSync(services.dataDir("test-plugin"))).toBe(true);
    expect(() => services.dataDir("../escape")).toThrow(/invalid feature name/);
    expect(services.callsOf("dataDir")).toHaveLength(2);
  });
});

describe("assertNoSecretLeak", () => {
  test("passes clean values and names the paths (never the values) of leaked credentials", async () => {
    assertNoSecretLeak({ fine: ["text", 1, null], pageToken: "cursor-123" });
    const ctx = createTestContext({ plugin: join(FIXTURES, "leak-secret") });
    const r = await invokeTool(leakSecret, "leak_secret.run", {}, ctx);
    expect(findSecretLeaks(r)).toEqual(["/result/note", "/result/nested/list/1"]);
    let message = "";
    try {
      assertNoSecretLeak(r);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain("/result/note");
    expect(message).not.toContain("sk-ant");
  });
});

describe("conformance samples", () => {
  test("minimalValue builds the smallest object a closed schema accepts", () => {
    const schema = {
      type: "object",
      additionalProperties: false,
      required: ["name", "count", "kind", "tags", "nested"],
      properties: {
        name: { type: "string", minLength: 3 },
        count: { type: "integer", exclusiveMinimum: 2, multipleOf: 5 },
        kind: { enum: ["a", "b"] },
        tags: { type: "array", minItems: 2, uniqueItems: true, items: { type: "string" } },
        nested: {
          type: "object",
          additionalProperties: false,
          required: ["on"],
          properties: { on: { type: "boolean" } },
        },
        optional: { type: "string" },
      },
    };
    expect(minimalValue(schema)).toEqual({
      name: "aaa",
      count: 5,
      kind: "a",
      tags: ["a0", "a1"],
      nested: { on: false },
    });
    expect(invalidArguments()).not.toHaveProperty("name");
  });

  test("runConformance passes examples/echo in-process", async () => {
    const rows = await runConformance(ECHO);
    expect(rows.map((r) => r.outcome)).toEqual(["pass", "pass", "pass", "pass", "pass", "pass"]);
  });
});
