import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { TO_CORE } from "../../../src/plugins/channel/messages.ts";
import { runInRunnerScope, runnerServices } from "../../../src/plugins/runner/services.ts";

const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function services() {
  const dataRoot = mkdtempSync("/tmp/pprs-");
  roots.push(dataRoot);
  const asked: { topic: string; args: unknown }[] = [];
  const told: { topic: string; args: unknown }[] = [];
  const s = runnerServices({
    start: {
      plugin: "probe",
      endpoint: "ipc:///run/plugin/plugin.sock",
      nonce: "n",
      handler: { kind: "file", path: "/plugin/handler.ts" },
      dataRoot,
      credentials: { probe_token: "secret-value", missing_one: null },
      config: { level: 3 },
      maxResponseBytes: 1024,
    },
    ask: async (topic, args) => {
      asked.push({ topic, args });
      return [{ seq: 1, timestamp: "t", kind: "routed" }];
    },
    tell: (topic, args) => told.push({ topic, args }),
    views: (group) =>
      group === "team"
        ? { group, revision: 1, tools: [{ name: "t", description: "d", risk_level: "low", plugin: "p" }], plugins: [] }
        : undefined,
  });
  return { s, asked, told, dataRoot };
}

const inCall = { scope: "scope-1", group: "team", sessionId: "sess-1" };

describe("CoreServices inside a plugin process", () => {
  test("group-shaped services name only the request's scope; outside a call they answer nothing", async () => {
    const { s, asked } = services();
    expect(await s.getAuditLog({ limit: 5 })).toEqual([]);
    expect(asked).toEqual([]);
    expect(await runInRunnerScope(inCall, () => s.getAuditLog({ limit: 5 }))).toEqual([
      { seq: 1, timestamp: "t", kind: "routed" },
    ]);
    expect(asked).toEqual([{ topic: TO_CORE.auditLog, args: { scope: "scope-1", filter: { limit: 5 } } }]);
    expect(s.getToolCatalog()).toEqual([]);
    expect(runInRunnerScope(inCall, () => s.getToolCatalog().map((t) => t.name))).toEqual(["t"]);
    expect(s.getSessionInfo()).toBeNull();
    expect(runInRunnerScope(inCall, () => s.getSessionInfo())).toEqual({
      sessionId: "sess-1",
      group: "team",
      plugins: [],
    });
  });

  test("publishEvent passes the scope and any group it was asked for to the core, which decides", async () => {
    const { s, asked } = services();
    await runInRunnerScope(inCall, () => s.publishEvent("message.inbound", { text: "x" }, { group: "other" }));
    expect(asked[0]).toEqual({
      topic: TO_CORE.publish,
      args: { scope: "scope-1", topic: "message.inbound", payload: { text: "x" }, group: "other" },
    });
  });

  test("readCredential answers only the declared credentials it was handed", async () => {
    const { s } = services();
    expect(await s.readCredential("probe_token")).toBe("secret-value");
    expect(await s.readCredential("missing_one")).toBeNull();
    await expect(s.readCredential("anthropic_api_key")).rejects.toThrow("which its manifest does not declare");
  });

  test("dataDir stays under the data root and the plugin's own names; config and log", () => {
    const { s, told, dataRoot } = services();
    expect(s.dataDir("probe")).toBe(join(dataRoot, "probe"));
    expect(existsSync(join(dataRoot, "probe"))).toBe(true);
    expect(() => s.dataDir("other")).toThrow('asked for the data folder "other"');
    expect(() => s.dataDir("../x")).toThrow("invalid feature name");
    expect(s.config()).toEqual({ level: 3 });
    s.log("info", "hello");
    s.log("loud" as "info", "ignored");
    expect(told).toEqual([{ topic: TO_CORE.log, args: { level: "info", message: "hello" } }]);
  });
});
