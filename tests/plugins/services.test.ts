import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { writeCredential } from "../../src/config/credentials.ts";
import { AuditLog } from "../../src/core/response/audit-log.ts";
import { Catalog } from "../../src/plugins/catalog.ts";
import type { Manifest } from "../../src/plugins/manifest-schema.ts";
import { runInScope } from "../../src/plugins/request-scope.ts";
import { createServices, safeAuditFilter } from "../../src/plugins/services.ts";
import type { SessionIdentity } from "../../src/protocol/envelope.ts";
import { removeHomes, tempHome } from "./helpers.ts";

const logs: AuditLog[] = [];
afterEach(async () => {
  for (const l of logs.splice(0)) await l.close();
});
afterAll(removeHomes);

const baseManifest: Manifest = { description: "d", version: "1.0.0", provides: { tools: [] } };

function setup(manifest: Manifest = baseManifest, plugin = "probe") {
  const home = tempHome();
  const audit = new AuditLog(home);
  logs.push(audit);
  const published: { identity: SessionIdentity; topic: string; payload: unknown }[] = [];
  const lines: string[] = [];
  const services = createServices({
    plugin,
    manifest,
    home,
    audit,
    catalog: new Catalog(),
    statuses: () => [],
    publish: (identity, topic, payload) => published.push({ identity, topic, payload }),
    config: { answer: 42 },
    writeLog: (line) => lines.push(line),
  });
  return { home, audit, services, published, lines };
}

const scope = (group: string | null, sessionId: string | null = group ? `s-${group}` : null) => ({
  group,
  sessionId,
  correlation: null,
  source: "test",
});

describe("getAuditLog is scoped to the calling request's group", () => {
  test("no filter can name another group; outside a request there is nothing", async () => {
    const { audit, services } = setup();
    await audit.append({ kind: "routed", outcome: "ok", group: "alpha", correlation: "alpha-secret-call", topic: "t" });
    await audit.append({ kind: "routed", outcome: "ok", group: "beta", correlation: "beta-call", topic: "t" });

    const asBeta = await runInScope(scope("beta"), () =>
      services.getAuditLog({ group: "alpha", correlation: "alpha-secret-call" } as never),
    );
    expect(asBeta).toEqual([]);
    const allBeta = await runInScope(scope("beta"), () =>
      services.getAuditLog({ limit: 100, group: "alpha" } as never),
    );
    expect(allBeta.map((r) => r.correlation)).toEqual(["beta-call"]);
    expect(JSON.stringify(allBeta)).not.toContain("alpha");

    const asAlpha = await runInScope(scope("alpha"), () => services.getAuditLog());
    expect(asAlpha.map((r) => r.correlation)).toEqual(["alpha-secret-call"]);
    // Records carry no detail and no group: the view is the SDK's AuditRecordView.
    expect(Object.keys(asAlpha[0] ?? {}).sort()).toEqual([
      "correlation",
      "kind",
      "outcome",
      "seq",
      "timestamp",
      "topic",
    ]);

    expect(await services.getAuditLog()).toEqual([]);
    expect(await runInScope(scope(null), () => services.getAuditLog())).toEqual([]);
  });

  test("the scope follows async work started by the request", async () => {
    const { audit, services } = setup();
    await audit.append({ kind: "routed", outcome: "ok", group: "gamma", correlation: "c1" });
    const later = await runInScope(scope("gamma"), async () => {
      await Bun.sleep(5);
      return new Promise<number>((resolve) =>
        setTimeout(async () => resolve((await services.getAuditLog()).length), 5),
      );
    });
    expect(later).toBe(1);
  });

  test("safeAuditFilter keeps only known fields and bounds the limit", () => {
    expect(safeAuditFilter({ group: "x", limit: 10_000, correlation: "c", kind: "routed" } as never)).toEqual({
      correlation: "c",
      limit: 200,
    });
    expect(safeAuditFilter(undefined)).toEqual({ limit: 50 });
  });
});

describe("readCredential reaches only declared keys", () => {
  test("an undeclared key is refused even when it exists; a declared one is read", async () => {
    const manifest: Manifest = { ...baseManifest, install: { credentials: [{ key: "probe_token" }] } };
    const { home, services } = setup(manifest);
    writeCredential(home, "probe_token", "declared-value");
    writeCredential(home, "anthropic_api_key", "sk-ant-not-yours");
    expect(await services.readCredential("probe_token")).toBe("declared-value");
    await expect(services.readCredential("anthropic_api_key")).rejects.toThrow(
      'plugin "probe" asked for the credential "anthropic_api_key", which its manifest does not declare',
    );
    await expect(services.readCredential("../credentials/probe_token")).rejects.toThrow("does not declare");
  });

  test("a declared key that is not stored reads as null", async () => {
    const manifest: Manifest = { ...baseManifest, install: { credentials: [{ key: "missing_key" }] } };
    const { services } = setup(manifest);
    expect(await services.readCredential("missing_key")).toBeNull();
  });
});

describe("publishEvent, dataDir, config, log, session info", () => {
  test("only channel plugins publish, only channel topics, to a valid group, and it is audited", async () => {
    const plain = setup();
    await expect(runInScope(scope("g"), () => plain.services.publishEvent("message.inbound", {}))).rejects.toThrow(
      "is not a channel plugin",
    );
    const channel = setup({ ...baseManifest, provides: { tools: [], channels: ["chat"] } });
    await expect(channel.services.publishEvent("agent.completed", {}, { group: "g" })).rejects.toThrow(
      "may not publish",
    );
    // Only the scheduler announces a task: a channel cannot put a task that was never added on the feed.
    await expect(
      channel.services.publishEvent(
        "task.created",
        { task: "0123456789abcdef", created_by: "operator" },
        { group: "g" },
      ),
    ).rejects.toThrow('may not publish "task.created"');
    await expect(channel.services.publishEvent("message.inbound", {})).rejects.toThrow("without a valid group");
    await expect(channel.services.publishEvent("message.inbound", {}, { group: "../x" })).rejects.toThrow(
      "valid group",
    );
    await channel.services.publishEvent("message.inbound", { text: "hi" }, { group: "team" });
    expect(channel.published).toHaveLength(1);
    expect(channel.published[0]?.identity).toMatchObject({ group: "team", source: "plugin:probe" });
    await channel.audit.flush();
    const records = await channel.audit.query("team");
    expect(records[0]).toMatchObject({ kind: "event", topic: "message.inbound" });
  });

  test("dataDir gives the plugin its own folder under data/ and nothing else", () => {
    const { home, services } = setup(baseManifest, "memory");
    expect(services.dataDir("memory")).toBe(join(home, "data/memory"));
    expect(existsSync(join(home, "data/memory"))).toBe(true);
    expect(services.dataDir("memory-cache")).toBe(join(home, "data/memory-cache"));
    expect(() => services.dataDir("audit")).toThrow('asked for the data folder "audit"');
    expect(() => services.dataDir("../credentials")).toThrow("invalid feature name");
  });

  test("config is the plugin's section, frozen; log lines are redacted and tagged", () => {
    const { services, lines } = setup();
    expect(services.config()).toEqual({ answer: 42 });
    expect(Object.isFrozen(services.config())).toBe(true);
    services.log("warn", "token sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789 \u001b[31mred");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toStartWith("[plugin probe] warn: ");
    expect(lines[0]).not.toContain("sk-ant-api03-AbCdEf");
    expect(lines[0]).not.toContain("\u001b");
  });

  test("getSessionInfo describes the calling session only; outside a request it is null", () => {
    const { services } = setup();
    expect(services.getSessionInfo()).toBeNull();
    expect(runInScope(scope("g", "sess-1"), () => services.getSessionInfo())).toEqual({
      sessionId: "sess-1",
      group: "g",
      plugins: [],
    });
  });
});
