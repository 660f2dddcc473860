import { afterEach, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { MEMORY_MIGRATIONS } from "../../plugins/memory/migrations.ts";
import { checkManifest } from "../../src/plugins/manifest-check.ts";
import { checkSchemaRules } from "../../src/plugins/schema-rules.ts";
import { errorObject } from "../../src/protocol/errors.ts";
import { parseWire } from "../../src/protocol/wire.ts";
import {
  callContext,
  identity,
  MANIFEST_ATTACKS,
  MANIFEST_PLUGIN_NAME,
  type ManifestAttack,
  maliciousManifest,
  manifest,
  manifestJson,
  manifestTool,
  memorySqlite,
  replyFrame,
  requestEnvelope,
  responseEnvelope,
  schemaObjects,
  session,
  sessionRegistry,
  tool,
  wireMessage,
} from "../harness/kit.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe("wire and call factories", () => {
  test("wireMessage passes parseWire, also with overrides", () => {
    expect(parseWire(wireMessage())).toEqual({ ok: true, wire: wireMessage({ correlation: expect.any(String) }) });
    const custom = wireMessage({ topic: "tool.invoke.notes.add", arguments: { text: "x" } });
    expect(parseWire(JSON.parse(JSON.stringify(custom)))).toEqual({ ok: true, wire: custom });
  });

  test("tool's arguments schema passes the manifest schema rules; callContext carries the body bytes", () => {
    expect(checkSchemaRules(tool().arguments_schema, "tool")).toEqual([]);
    const ctx = callContext({ a: 1 });
    expect(new TextDecoder().decode(ctx.raw)).toBe('{"a":1}');
    expect(ctx.identity.group).toBe("test");
  });
});

describe("manifest factories", () => {
  test("manifest() passes checkManifest with no problem", () => {
    const check = checkManifest(MANIFEST_PLUGIN_NAME, manifestJson(manifest()));
    expect(check.problems).toEqual([]);
    expect(check.manifest).toEqual(manifest());
  });

  test("overrides stay valid: more tools, a config schema, subscriptions, credentials", () => {
    const custom = manifest({
      provides: { tools: [manifestTool(), manifestTool({ name: "notes.list", risk_level: "high" })] },
      config_schema: { type: "object", additionalProperties: false, properties: { max: { type: "integer" } } },
      subscribes: ["message.inbound"],
      install: { credentials: [{ key: "notes_token", description: "a token" }] },
    });
    expect(checkManifest(MANIFEST_PLUGIN_NAME, manifestJson(custom)).problems).toEqual([]);
  });

  for (const attack of Object.keys(MANIFEST_ATTACKS) as ManifestAttack[]) {
    test(`maliciousManifest("${attack}") is refused as ${MANIFEST_ATTACKS[attack]}`, () => {
      const { value, category } = maliciousManifest(attack);
      const check = checkManifest(MANIFEST_PLUGIN_NAME, manifestJson(value));
      expect(check.manifest).toBeNull();
      // Malicious in exactly one way: every problem found is of that one kind.
      expect(check.problems.length).toBeGreaterThan(0);
      expect(new Set(check.problems.map((p) => p.category))).toEqual(new Set([category]));
    });
  }
});

describe("session factories", () => {
  let cleanup: (() => void) | null = null;
  afterEach(() => {
    cleanup?.();
    cleanup = null;
  });

  test("session() is a plain Session whose identity is minted for its group and id", () => {
    const s = session({ group: "family", id: "abc" });
    expect(s.identity).toMatchObject({ group: "family", sessionId: "abc", source: "test" });
    expect(Object.isFrozen(s.identity)).toBe(true);
    expect(s.router).toBeNull();
    expect(s.ended.signal.aborted).toBe(false);
  });

  test("sessionRegistry() opens real sessions with their own socket and closes them", () => {
    const reg = sessionRegistry();
    cleanup = reg.close;
    const s = reg.registry.open("family", "test");
    expect(s.identity.group).toBe("family");
    expect(s.id).toMatch(/^[0-9a-f]{32}$/);
    expect(existsSync(s.socketPath)).toBe(true);
    reg.close();
    expect(existsSync(s.socketPath)).toBe(false);
    expect(s.ended.signal.aborted).toBe(true);
  });
});

describe("envelope and reply factories", () => {
  test("requestEnvelope takes identity from the session identity; its wire part passes parseWire", () => {
    const env = requestEnvelope({ identity: identity("family", "sid", "container"), arguments: { text: "x" } });
    expect(env).toMatchObject({ version: 1, type: "request", group: "family", session: "sid", source: "container" });
    expect(env.id).toMatch(UUID);
    expect(new Date(env.timestamp).toISOString()).toBe(env.timestamp);
    const wire = { topic: env.topic, correlation: env.correlation, arguments: env.payload.arguments };
    expect(parseWire(wire).ok).toBe(true);
  });

  test("responseEnvelope answers its request: same correlation, group and session; result xor error", () => {
    const request = requestEnvelope();
    const ok = responseEnvelope({ request, result: { n: 1 } });
    expect(ok).toMatchObject({
      type: "response",
      source: "core",
      correlation: request.correlation,
      group: request.group,
      session: request.session,
      payload: { result: { n: 1 }, error: null },
    });
    const error = errorObject("PLUGIN_TIMEOUT", "too slow");
    expect(responseEnvelope({ request, error }).payload).toEqual({ result: null, error });
  });

  test("replyFrame builds the three frame kinds the core sends to ipc", () => {
    const c = crypto.randomUUID();
    expect(replyFrame.result(c, 1)).toEqual({ kind: "result", correlation: c, result: 1 });
    expect(replyFrame.error(c).kind).toBe("error");
    expect(replyFrame.heartbeat(c, 500)).toEqual({
      kind: "heartbeat",
      correlation: c,
      state: "pending_confirmation",
      wait_ms: 500,
    });
  });
});

describe("memory SQLite factory", () => {
  test("has the memory tables, FTS index and triggers, at the latest migration", () => {
    const db = memorySqlite();
    try {
      const { tables, triggers } = schemaObjects(db);
      expect(tables).toEqual(expect.arrayContaining(["entries", "entry_tags", "entries_fts"]));
      expect(triggers).toEqual(expect.arrayContaining(["entries_frozen", "entries_supersede_once"]));
      const version = db.query<{ user_version: number }, []>("PRAGMA user_version").get()?.user_version;
      expect(version).toBe(MEMORY_MIGRATIONS.at(-1)?.version as number);
    } finally {
      db.close();
    }
  });

  test("each call is a fresh, writable database", () => {
    const a = memorySqlite();
    const b = memorySqlite();
    try {
      a.query("INSERT INTO entries (type, content, session_id, group_name, created_at) VALUES (?, ?, ?, ?, ?)").run(
        "fact",
        "the sky is blue",
        "s1",
        "test",
        new Date().toISOString(),
      );
      expect(a.query("SELECT count(*) AS n FROM entries").get()).toEqual({ n: 1 });
      expect(b.query("SELECT count(*) AS n FROM entries").get()).toEqual({ n: 0 });
    } finally {
      a.close();
      b.close();
    }
  });
});
