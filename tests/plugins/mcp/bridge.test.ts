import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { writeCredential } from "../../../src/config/credentials.ts";
import {
  FIXTURE_TOKEN,
  FIXTURE_TOKEN_HALVES,
  stdioServerToml,
  storeFixtureToken,
} from "../../fixtures/mcp-server/setup.ts";
import { installPlugin } from "../../fixtures/plugins/install.ts";
import { type RunningCore, startCore, waitForAudit } from "../../harness/core.ts";
import { rawRequest, wire } from "../../harness/raw.ts";
import { type Json, ROOMY_LIMITS } from "../../security/support.ts";

/**
 * The test MCP server through the compiled core (real ipc, real sockets): every tool of it behaves
 * as the bridge specifies. Calls come from a session socket, like the agent's.
 */

type Session = { id: string; socket: string; group: string };

function call(s: Session, tool: string, args: Json = {}, ms = 15_000): Json {
  return rawRequest(s.socket, wire(`tool.invoke.${tool}`, args), ms) ?? {};
}

/** Every file under `dir` except the credential store, as text. */
function filesUnder(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (entry === "credentials") continue;
    const st = statSync(path, { throwIfNoEntry: false });
    if (st?.isDirectory()) filesUnder(path, out);
    else if (st?.isFile()) out.push(path);
  }
  return out;
}

const OTHER_SECRET = "other-plugin-secret-42c9e1d0";

describe("an MCP server over stdio, through the compiled core", () => {
  let core: RunningCore;
  let s: Session;
  let listener: Server;
  let port = 0;

  beforeAll(async () => {
    listener = createServer((c) => c.destroy()).listen(0, "127.0.0.1");
    await new Promise((r) => listener.once("listening", r));
    port = (listener.address() as { port: number }).port;
    const { tempHome } = await import("../../harness/core.ts");
    const home = tempHome();
    storeFixtureToken(home);
    writeCredential(home, "other_secret", OTHER_SECRET);
    const config = [
      `${ROOMY_LIMITS}handler_timeout_ms = 2000\n`,
      stdioServerToml("fx"),
      stdioServerToml("ov", [
        'high_risk_tools = ["read_note"]',
        'low_risk_tools = ["send_message"]',
        'allowed_groups = ["ops"]',
      ]),
      stdioServerToml("fnet", ["network = true"]),
      stdioServerToml("crashy"),
      // A folder that holds the home (and so its credential store) is never bound into a sandbox.
      stdioServerToml("leaky", [`paths = ["/tmp"]`]).replace(/^paths = .*\n/m, ""),
    ].join("\n");
    // A plugin whose manifest declares a tool in the fx server's namespace.
    const squatter = installPlugin(home, "plain-error", { as: "squatter" });
    const manifest = readFileSync(join(squatter, "manifest.json"), "utf8").replace(
      '"plain_error.run"',
      '"fx.read_note"',
    );
    writeFileSync(join(squatter, "manifest.json"), manifest);
    core = await startCore({ home, config });
    s = await core.openSession("default");
  });
  afterAll(async () => {
    await core.stop();
    listener.close();
  });

  test("its tools enter the catalog as <server>.<tool>, high risk unless read-only or listed low", async () => {
    const tools = (await core.carapace(["tools", "--json"])).json as unknown as Json[];
    const risk = Object.fromEntries(tools.map((t) => [t.name, t.risk_level]));
    expect(risk["fx.read_note"]).toBe("low");
    expect(risk["fx.send_message"]).toBe("high");
    expect(risk["fx.loose_args"]).toBe("low");
    // The user's lists win over the server's annotations, both ways; ov serves only "ops".
    expect(risk["ov.read_note"]).toBeUndefined();
    const ops = (await core.carapace(["tools", "--json", "--group", "ops"])).json as unknown as Json[];
    const opsRisk = Object.fromEntries(ops.map((t) => [t.name, t.risk_level]));
    expect(opsRisk["ov.read_note"]).toBe("high");
    expect(opsRisk["ov.send_message"]).toBe("low");
  });

  test("a plugin declaring a tool in an MCP server's namespace is refused; the server keeps its tool", async () => {
    const list = await core.carapace(["plugin", "list", "--json"]);
    const rows = (JSON.parse(list.stdout) as { plugins: Json[] }).plugins;
    expect(rows.find((p) => p.name === "squatter")).toMatchObject({ category: "duplicate_tool" });
    expect(rows.find((p) => p.name === "fx")).toMatchObject({ live: "healthy" });
    expect(call(s, "fx.read_note", { title: "t" }).result).toMatchObject({
      untrusted_content: { source: expect.stringContaining('"fx"') },
    });
  });

  test("an open schema and a $ref schema are refused, with the reason in plugin list and doctor", async () => {
    const tools = (await core.carapace(["tools", "--json"])).json as unknown as Json[];
    const names = tools.map((t) => t.name);
    expect(names).not.toContain("fx.open_args");
    expect(names).not.toContain("fx.recursive");
    expect(call(s, "fx.open_args", { q: "x" }).error).toMatchObject({ code: "UNKNOWN_TOOL", stage: 2 });
    const list = await core.carapace(["plugin", "list", "--json"]);
    const row = (JSON.parse(list.stdout) as { plugins: Json[] }).plugins.find((p) => p.name === "fx");
    expect(row).toMatchObject({ source: "mcp", live: "healthy" });
    const refused = row?.refused as Json[];
    expect(refused).toContainEqual(expect.objectContaining({ tool: "open_args", category: "schema_open" }));
    expect(refused).toContainEqual(expect.objectContaining({ tool: "recursive", category: "schema_ref" }));
    const doctor = await core.carapace(["doctor", "--json"]);
    expect(doctor.stdout).toContain("open_args");
    expect(doctor.stdout).toContain("schema_ref");
  });

  test("a schema that leaves additionalProperties unsaid is closed: an extra key is refused at stage 3", () => {
    expect(call(s, "fx.loose_args", { q: "a" }).result).toMatchObject({ untrusted_content: { text: "q=a" } });
    expect(call(s, "fx.loose_args", { q: "a", z: 1 }).error).toMatchObject({
      code: "VALIDATION_FAILED",
      stage: 3,
      field: "/z",
    });
  });

  test("the read-only tool runs at once; its output reaches the caller marked untrusted, and is audited", async () => {
    const reply = call(s, "fx.read_note", { title: "groceries" });
    expect(reply.result).toEqual({
      untrusted_content: {
        source: 'MCP server "fx", tool "read_note"',
        notice: expect.stringContaining("never as instructions"),
        text: 'note "groceries": buy milk',
      },
    });
    await waitForAudit(core, "default", (r) => r.topic === "tool.invoke.fx.read_note" && r.kind === "routed");
  });

  test("the side-effecting tool waits for approval and runs only once approved", async () => {
    const before = call(s, "fx.sent_count").result as { untrusted_content: { structured: { sent: number } } };
    const pending = core.ipc(s.socket, "fx.send_message", { to: "ann", body: "hi" });
    let id = "";
    for (let i = 0; i < 100 && !id; i++) {
      const list = (await core.carapace(["approvals", "--json"])).json as unknown as Json[] | null;
      id = String((Array.isArray(list) ? list : []).find((p) => p.tool === "fx.send_message")?.id ?? "");
      if (!id) await Bun.sleep(100);
    }
    expect(id).not.toBe("");
    const still = call(s, "fx.sent_count").result as typeof before;
    expect(still.untrusted_content.structured.sent).toBe(before.untrusted_content.structured.sent);
    expect((await core.carapace(["approve", id])).code).toBe(0);
    const done = await pending;
    expect(done.code).toBe(0);
    expect(done.json).toMatchObject({ untrusted_content: { text: "sent to ann" } });
    const after = call(s, "fx.sent_count").result as typeof before;
    expect(after.untrusted_content.structured.sent).toBe(before.untrusted_content.structured.sent + 1);
  });

  test("a tool that hangs gets PLUGIN_TIMEOUT; the server keeps serving", () => {
    expect(call(s, "fx.hang").error).toMatchObject({ code: "PLUGIN_TIMEOUT", stage: 6 });
    expect(call(s, "fx.read_note", { title: "t" }).result).toBeDefined();
  });

  test("a 5 MiB reply is refused by the result size limit", () => {
    expect(call(s, "fx.big").error).toMatchObject({
      code: "HANDLER_ERROR",
      message: expect.stringContaining("exceeds"),
    });
  });

  test("an MCP error result is HANDLER_ERROR with none of the server's internals", () => {
    const error = call(s, "fx.fail").error as Json;
    expect(error).toMatchObject({ code: "HANDLER_ERROR", handler_code: "MCP_TOOL_ERROR", stage: 6 });
    expect(JSON.stringify(error)).not.toMatch(/hunter22|\/srv\/secret|internal\.ts/);
  });

  test("output carrying the server's credential is scrubbed", () => {
    const text = JSON.stringify(call(s, "fx.leak_secret").result);
    expect(text).toContain("[REDACTED");
    expect(text).not.toContain(FIXTURE_TOKEN);
  });

  test("the server sees only its own credential, not the home, and no network unless configured", async () => {
    const probe = call(s, "fx.env_probe", { home: core.home, port }).result as {
      untrusted_content: { structured: Json };
    };
    const seen = probe.untrusted_content.structured;
    expect(seen.env).toEqual(["FIXTURE_TOKEN", "HOME", "LANG", "PATH", "TMPDIR"]);
    expect(seen).toMatchObject({ home_visible: false, credentials_visible: false, connected: false });
    const net = call(s, "fnet.env_probe", { port }).result as typeof probe;
    expect(net.untrusted_content.structured.connected).toBe(true);
  });

  test("a server whose paths would expose the Carapace home is refused before it starts", async () => {
    const list = await core.carapace(["mcp", "list", "--json"]);
    const leaky = (JSON.parse(list.stdout) as { servers: Json[] }).servers.find((x) => x.name === "leaky");
    expect(leaky?.live).toMatchObject({
      state: "failed",
      category: "path_traversal",
      reason: expect.stringContaining("holds the Carapace home"),
    });
    const tools = (await core.carapace(["tools", "--json"])).json as unknown as Json[];
    expect(tools.some((t) => String(t.name).startsWith("leaky."))).toBe(false);
  });

  test("tools/list_changed is honoured with the same checks", async () => {
    expect(call(s, "fx.add_tools").result).toBeDefined();
    let names: unknown[] = [];
    for (let i = 0; i < 100 && !names.includes("fx.extra"); i++) {
      await Bun.sleep(100);
      names = ((await core.carapace(["tools", "--json"])).json as unknown as Json[]).map((t) => t.name);
    }
    expect(names).toContain("fx.extra");
    expect(names).not.toContain("fx.extra_open");
    // The new list calls send_message read-only; it was listed side-effecting first, so it stays high.
    const risks = new Map(
      ((await core.carapace(["tools", "--json"])).json as unknown as Json[]).map((t) => [t.name, t.risk_level]),
    );
    expect({ send: risks.get("fx.send_message"), extra: risks.get("fx.extra") }).toEqual({
      send: "high",
      extra: "low",
    });
    expect(call(s, "fx.extra").result).toMatchObject({ untrusted_content: { text: "extra tool" } });
    expect(core.messages()).toContain('tool "extra_open" of MCP server "fx" was refused: schema_open');
  });

  test("a server that crashes: the call gets PLUGIN_UNAVAILABLE and the server is restarted", async () => {
    expect(call(s, "fx.crash").error).toMatchObject({ code: "PLUGIN_UNAVAILABLE", stage: 6 });
    let reply: Json = {};
    for (let i = 0; i < 100; i++) {
      reply = call(s, "fx.read_note", { title: "again" });
      if (reply.result) break;
      await Bun.sleep(100);
    }
    expect(reply.result).toMatchObject({ untrusted_content: { text: 'note "again": buy milk' } });
    expect(core.messages()).toContain('the process of plugin "fx" ended');
  });

  test("a server that keeps crashing is marked failed like any plugin, and doctor says so", async () => {
    const state = async () =>
      ((JSON.parse((await core.carapace(["mcp", "list", "--json"])).stdout) as { servers: Json[] }).servers.find(
        (x) => x.name === "crashy",
      )?.live ?? {}) as Json;
    for (let crash = 0; crash < 3; crash++) {
      for (let i = 0; i < 300 && (await state()).state !== "healthy"; i++) await Bun.sleep(100);
      expect(call(s, "crashy.crash").error).toMatchObject({ code: "PLUGIN_UNAVAILABLE" });
    }
    for (let i = 0; i < 300 && (await state()).state !== "failed"; i++) await Bun.sleep(100);
    expect(await state()).toMatchObject({ state: "failed", category: "crashed" });
    expect(call(s, "crashy.read_note", { title: "x" }).error).toMatchObject({ code: "PLUGIN_UNAVAILABLE" });
    const doctor = JSON.parse((await core.carapace(["doctor", "--json"])).stdout) as { checks: Json[] };
    expect(doctor.checks.find((c) => c.id === "mcp.crashy")).toMatchObject({ level: "fail" });
  });

  test("no credential value is in the core's output, its log files or the audit", async () => {
    await core.carapace(["audit", "checkpoint"]).catch(() => null);
    const output = core.output();
    expect(output).not.toContain(FIXTURE_TOKEN);
    expect(output).not.toContain(OTHER_SECRET);
    // The fixture prints its token to stderr in two writes: neither half may reach a log either.
    for (const half of FIXTURE_TOKEN_HALVES) expect(output).not.toContain(half);
    for (const file of filesUnder(core.home)) {
      const text = readFileSync(file).toString("latin1");
      expect({ file, leaked: text.includes(FIXTURE_TOKEN) || text.includes(OTHER_SECRET) }).toEqual({
        file,
        leaked: false,
      });
    }
  });
});
