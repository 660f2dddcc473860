/**
 * Plugins through the real entry points: the compiled `carapace` loads TypeScript plugins from
 * `$CARAPACE_HOME/plugins` (a temp dir outside this repository, so `@carapace/sdk` can only resolve
 * through the binary's SDK seam), and the compiled `ipc` calls them over a session socket.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { DEFAULT_LIMITS } from "../../src/protocol/limits.ts";
import { installMalicious, installPlugin } from "../fixtures/plugins/install.ts";
import { ensureBinaries } from "../harness/binaries.ts";
import { type RunningCore, startCore, tempHome, waitForAudit } from "../harness/core.ts";

const LEAKED = "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefghij";
const FIXTURES = [
  "tool-error",
  "plain-error",
  "forged-code",
  "hang",
  "big-reply",
  "leak-secret",
  "init-fails",
  "high-risk",
  "services-probe",
  "event-sink",
];

let core: RunningCore;
let socket: string;

function errorOf(r: { json: Record<string, unknown> | null }): Record<string, unknown> {
  return (r.json ?? {}) as Record<string, unknown>;
}

beforeAll(async () => {
  const home = tempHome();
  for (const f of FIXTURES) installPlugin(home, f);
  installMalicious(home, "open-nested");
  core = await startCore({
    home,
    // The hang fixture needs a handler timeout; the other tools (and every plugin's start) must fit in it
    // and in the init timeout on a loaded machine.
    config:
      "[security]\nhandler_timeout_ms = 3000\nplugin_init_timeout_ms = 20000\nrate_limit_per_minute = 6000\nrate_limit_burst = 200\n",
  });
  socket = (await core.openSession("g")).socket;
});

afterAll(async () => {
  await core?.stop();
});

describe("handler errors through the compiled binaries", () => {
  test("a plugin's ToolError (imported from @carapace/sdk) arrives as HANDLER_ERROR with its message and code", async () => {
    const r = await core.ipc(socket, "tool_error.run", {});
    expect(r.code).toBe(1);
    expect(errorOf(r)).toMatchObject({
      code: "HANDLER_ERROR",
      message: "my message",
      handler_code: "MY_CODE",
      stage: 6,
    });
  });

  test("a plain Error becomes PLUGIN_ERROR with generic text: no message, stack or path leaks", async () => {
    const r = await core.ipc(socket, "plain_error.run", {});
    expect(r.code).toBe(1);
    expect(errorOf(r)).toMatchObject({ code: "PLUGIN_ERROR", message: "the tool failed", retriable: false });
    for (const text of [r.stderr, r.stdout, JSON.stringify(core.audit("g"))]) {
      expect(text).not.toContain("INTERNAL-DETAIL");
      expect(text).not.toContain("/srv/secret");
      expect(text).not.toContain("handler.ts");
    }
  });

  test("a forged pipeline code is normalized to HANDLER_ERROR; both forms are audited under one correlation", async () => {
    const r = await core.ipc(socket, "forged_code.run", {});
    expect(r.code).toBe(1);
    const error = errorOf(r);
    expect(error.code).toBe("HANDLER_ERROR");
    expect(error.handler_code).toBeUndefined();
    expect(JSON.stringify(error)).not.toContain("RATE_LIMITED");
    const normalized = await waitForAudit(
      core,
      "g",
      (x) => x.kind === "normalized" && x.topic === "tool.invoke.forged_code.run",
    );
    expect(normalized.detail).toMatchObject({ forged_code: "RATE_LIMITED", normalized_to: "HANDLER_ERROR" });
    const errorRecord = await waitForAudit(
      core,
      "g",
      (x) => x.kind === "error" && x.correlation === normalized.correlation && x.code === "HANDLER_ERROR",
    );
    expect(errorRecord.stage).toBe(6);
  });

  test("a handler that never answers gets PLUGIN_TIMEOUT after handler_timeout_ms", async () => {
    const t0 = performance.now();
    const r = await core.ipc(socket, "hang.run", {});
    expect(r.code).toBe(1);
    // The handler may still complete: a retry would repeat its side effect.
    expect(errorOf(r)).toMatchObject({ code: "PLUGIN_TIMEOUT", retriable: false });
    expect(String(errorOf(r).message)).toContain("3000 ms");
    // The configured 3 s ended the call, not the 30 s default (the margin is for a loaded machine).
    expect(performance.now() - t0).toBeLessThan(DEFAULT_LIMITS.handlerTimeoutMs);
  });

  test("a reply over 1 MiB is refused as HANDLER_ERROR", async () => {
    const r = await core.ipc(socket, "big_reply.run", {});
    expect(r.code).toBe(1);
    expect(errorOf(r)).toMatchObject({ code: "HANDLER_ERROR" });
    expect(String(errorOf(r).message)).toContain("exceeds 1048576 bytes");
    expect(r.stderr.length).toBeLessThan(10_000);
  });

  test("a secret in a result is redacted in the reply and the touched paths are audited", async () => {
    const r = await core.ipc(socket, "leak_secret.run", {});
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain(LEAKED);
    expect(r.stdout).not.toContain("AbCdEfGhIjKlMnOp");
    const sanitized = await waitForAudit(
      core,
      "g",
      (x) => x.kind === "sanitized" && x.topic === "tool.invoke.leak_secret.run",
    );
    expect((sanitized.detail as { paths: string[] }).paths.sort()).toEqual(["/nested/list/1", "/note"]);
    expect(JSON.stringify(core.audit("g"))).not.toContain("AbCdEfGhIjKlMnOp");
  });
});

describe("built-in plugin, intrinsic tools, services", () => {
  test("memory_store and memory_search work through ipc", async () => {
    const stored = await core.ipc(socket, "memory_store", { type: "fact", content: "the plugin loader works" });
    expect(stored.code).toBe(0);
    expect(stored.json).toMatchObject({ type: "fact", behavioral: false });
    const found = await core.ipc(socket, "memory_search", { query: "loader" });
    expect(found.code).toBe(0);
    expect(found.json).toMatchObject({ count: 1 });
    // The embedded plugin's ToolError is the core's class too.
    const missing = await core.ipc(socket, "memory_delete", { id: 999_999 });
    expect(errorOf(missing)).toMatchObject({ code: "HANDLER_ERROR", handler_code: "NOT_FOUND" });
  });

  test("get_session_info lists healthy and failed plugins with categories", async () => {
    const r = await core.ipc(socket, "get_session_info", {});
    expect(r.code).toBe(0);
    const info = r.json as { session_id: string; group: string; plugins: Record<string, unknown>[] };
    expect(info.group).toBe("g");
    expect(socket).toContain(info.session_id);
    const byName = Object.fromEntries(info.plugins.map((p) => [p.name, p]));
    expect(byName["init-fails"]).toMatchObject({ status: "failed", category: "init_failed", source: "user" });
    expect(byName["open-nested"]).toMatchObject({ status: "failed", category: "schema_open" });
    expect(String(byName["open-nested"]?.reason)).toContain("/properties/opts");
    expect(byName.memory).toMatchObject({ status: "healthy", source: "builtin" });
    expect(byName["tool-error"]).toMatchObject({ status: "healthy", source: "user" });
    // The plugin's own error text stays with the operator.
    expect(r.stdout).not.toContain("upstream service");
    expect(r.stdout).not.toContain(core.home);
  });

  test("list_tools shows the callable tools with risk levels; failed plugins contribute none", async () => {
    const r = await core.ipc(socket, "list_tools", {});
    const tools = (r.json as { tools: { name: string; risk_level: string }[] }).tools;
    const byName = Object.fromEntries(tools.map((t) => [t.name, t.risk_level]));
    expect(byName["high_risk.run"]).toBe("high");
    expect(byName["tool_error.run"]).toBe("low");
    expect(byName.memory_store).toBe("low");
    expect(byName.get_diagnostics).toBe("low");
    expect(byName["init_fails.run"]).toBeUndefined();
    expect(byName["open_nested.run"]).toBeUndefined();
  });

  test("a tool of a plugin that failed to start is PLUGIN_UNAVAILABLE (it exists, its plugin is down), audited at stage 6", async () => {
    const r = await core.ipc(socket, "init_fails.run", {});
    expect(errorOf(r)).toMatchObject({ code: "PLUGIN_UNAVAILABLE", stage: 6, retriable: true });
    const listed = await core.ipc(socket, "list_tools", {});
    expect(JSON.stringify(listed.json)).not.toContain("init_fails.run");
    expect((await core.ipc(socket, "init_fails.nosuch", {})).json).toMatchObject({ code: "UNKNOWN_TOOL" });
  });

  test("get_diagnostics and getAuditLog show only the caller's group", async () => {
    const other = await core.openSession("other");
    expect((await core.ipc(other.socket, "hello.echo", { message: "x" })).code).toBe(0);
    await waitForAudit(core, "other", (x) => x.kind === "routed" && x.topic === "tool.invoke.hello.echo");
    const otherCorrelations = new Set(
      core
        .audit("other")
        .map((x) => x.correlation)
        .filter(Boolean),
    );
    expect(otherCorrelations.size).toBeGreaterThan(0);

    const diag = await core.ipc(socket, "get_diagnostics", { limit: 100 });
    expect(diag.code).toBe(0);
    const records = (diag.json as { group: string; records: { correlation: string | null }[] }).records;
    expect(records.length).toBeGreaterThan(0);
    for (const rec of records) expect(otherCorrelations.has(rec.correlation as string)).toBe(false);

    const [victim] = [...otherCorrelations];
    const probe = await core.ipc(socket, "services_probe.audit", { group: "other", correlation: victim as string });
    expect(probe.json).toEqual({ count: 0, correlations: [] });
    const all = await core.ipc(socket, "services_probe.audit", { group: "other" });
    const seen = (all.json as { correlations: string[] }).correlations;
    expect(seen.length).toBeGreaterThan(0);
    for (const c of seen) expect(otherCorrelations.has(c)).toBe(false);
    await core.closeSession(other.id);
  });

  test("readCredential of a key the manifest does not declare is refused", async () => {
    const r = await core.ipc(socket, "services_probe.credential", { key: "anthropic_api_key" });
    expect(errorOf(r)).toMatchObject({ code: "HANDLER_ERROR", handler_code: "CREDENTIAL_REFUSED" });
    expect(String(errorOf(r).message)).toContain("does not declare");
    const declared = await core.ipc(socket, "services_probe.credential", { key: "probe_token" });
    expect(declared.json).toEqual({ found: false, length: 0 });
  });

  test("a channel plugin's event reaches a subscribed plugin, scoped to the event's group", async () => {
    expect((await core.ipc(socket, "services_probe.publish", { text: "hello sink" })).code).toBe(0);
    const seen = await core.ipc(socket, "event_sink.seen", {});
    expect((seen.json as { events: unknown[] }).events).toContainEqual({
      topic: "message.inbound",
      group: "g",
      payload: { text: "hello sink" },
      scopedGroup: "g",
    });
  });

  test("a high-risk plugin tool waits for the operator's approval (stage 5)", async () => {
    const pending = core.ipc(socket, "high_risk.run", {});
    let id: string | undefined;
    for (let i = 0; i < 100 && !id; i++) {
      const list = await core.carapace(["approvals", "--json"]);
      id = (JSON.parse(list.stdout || "[]") as { id: string; tool: string }[]).find(
        (p) => p.tool === "high_risk.run",
      )?.id;
      if (!id) await Bun.sleep(50);
    }
    expect(id).toBeDefined();
    expect((await core.carapace(["approve", id as string])).code).toBe(0);
    const r = await pending;
    expect(r.code).toBe(0);
    expect(r.json).toEqual({ done: true, group: "g" });
  });
});

describe("carapace plugin validate|list", () => {
  test("validate: 0 for a good plugin, 1 with a specific message for a bad one, 2 for no folder", async () => {
    const good = await core.carapace(["plugin", "validate", join(core.home, "plugins/tool-error")]);
    expect(good.code).toBe(0);
    expect(good.stdout).toContain("plugin tool-error 1.0.0 is valid: 1 tool(s) (tool_error.run)");
    const bad = await core.carapace(["plugin", "validate", join(core.home, "plugins/open-nested")]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(
      '[PLUGIN] Error: schema_open: tool "open_nested.run" arguments_schema at /properties/opts is an object schema without "additionalProperties": false.',
    );
    expect(bad.stderr).toContain("Fix: close the schema");
    const missing = await core.carapace(["plugin", "validate", join(core.home, "plugins/nope")]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("[PLUGIN] Error:");
  });

  test("list: static checks plus the running core's live state", async () => {
    const r = await core.carapace(["plugin", "list", "--json"]);
    expect(r.code).toBe(0);
    const listed = JSON.parse(r.stdout) as { core_running: boolean; plugins: Record<string, unknown>[] };
    expect(listed.core_running).toBe(true);
    const byName = Object.fromEntries(listed.plugins.map((p) => [p.name, p]));
    expect(byName.memory).toMatchObject({ source: "builtin", state: "ok", live: "healthy" });
    expect(byName["init-fails"]).toMatchObject({ state: "ok", live: "failed", category: "init_failed" });
    expect(byName["open-nested"]).toMatchObject({ state: "failed", category: "schema_open" });
    const text = await core.carapace(["plugin", "list"]);
    expect(text.stdout).toContain("core: running");
    expect(text.stdout).toMatch(/init-fails\s+user\s+ok\/failed/);
  });

  test("list without a running core: static checks only", async () => {
    const home = tempHome();
    installPlugin(home, "tool-error");
    installMalicious(home, "ref-recursive");
    const proc = Bun.spawnSync([ensureBinaries().carapace, "plugin", "list", "--json"], {
      env: { ...core.env, CARAPACE_HOME: home, HOME: home },
    });
    expect(proc.exitCode).toBe(0);
    const listed = JSON.parse(proc.stdout.toString()) as { core_running: boolean; plugins: Record<string, unknown>[] };
    expect(listed.core_running).toBe(false);
    const byName = Object.fromEntries(listed.plugins.map((p) => [p.name, p]));
    expect(byName["tool-error"]).toMatchObject({ state: "ok", source: "user", tools: ["tool_error.run"] });
    expect(byName["ref-recursive"]).toMatchObject({ state: "failed", category: "schema_ref" });
    expect(byName.memory).toMatchObject({ state: "ok", source: "builtin" });
  });
});
