import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { FIXTURE_SERVER, FIXTURE_TOKEN, storeFixtureToken } from "../fixtures/mcp-server/setup.ts";
import { ROOT } from "../harness/binaries.ts";
import { type RunningCore, startCore, tempHome } from "../harness/core.ts";
import { runCommand } from "../harness/run.ts";

/** `carapace mcp add|list|rm|test` through the compiled binary: config first, then a running core. */
describe("carapace mcp", () => {
  const home = tempHome();
  const env = { PATH: "/usr/bin:/bin", HOME: home, CARAPACE_HOME: home, NO_COLOR: "1" };
  const carapace = (args: string[], stdin?: string) =>
    runCommand([join(ROOT, "dist/carapace"), ...args], { env, ...(stdin !== undefined ? { stdin } : {}) });
  let core: RunningCore | null = null;

  beforeAll(() => storeFixtureToken(home));
  afterAll(async () => {
    await core?.stop();
  });

  test("add writes a [mcp.servers.<name>] table naming credentials, never their values", async () => {
    const added = await carapace([
      "mcp",
      "add",
      "fx",
      `--command=${process.execPath}`,
      `--arg=${FIXTURE_SERVER}`,
      "--arg=--stdio",
      `--path=${ROOT}`,
      "--env=FIXTURE_TOKEN=fixture_token",
      "--low-risk=send_message",
      "--json",
    ]);
    expect(added.code).toBe(0);
    expect(JSON.parse(added.stdout)).toMatchObject({
      added: "fx",
      server: { env: { FIXTURE_TOKEN: "fixture_token" } },
    });
    const text = readFileSync(join(home, "config.toml"), "utf8");
    expect(text).toContain("[mcp.servers.fx]");
    expect(text).toContain(`args = [ "${FIXTURE_SERVER}", "--stdio" ]`);
    expect(text).not.toContain(FIXTURE_TOKEN);
  });

  test("usage problems exit 2 and change nothing", async () => {
    const before = readFileSync(join(home, "config.toml"), "utf8");
    for (const args of [
      ["mcp", "add", "fx", "--command=/bin/true"],
      ["mcp", "add", "both", "--command=/bin/true", "--url=http://127.0.0.1:1/mcp"],
      ["mcp", "add", "neither"],
      ["mcp", "add", "Bad-Name", "--command=/bin/true"],
      ["mcp", "add", "lit", "--command=/bin/true", "--env=TOKEN=ghp_a literal secret!"],
      // A secret that looks like a credential name is not written to config.toml: no such credential is stored.
      ["mcp", "add", "lit", "--command=/bin/true", "--env=TOKEN=abcdef0123456789deadbeef"],
      ["mcp", "add", "lit", "--url=http://127.0.0.1:1/mcp", "--header=Authorization=bearer_abcdef0123456789"],
      // A secret in an argument would be on the host's process list and in config.toml.
      [
        "mcp",
        "add",
        "argv",
        "--command=/bin/true",
        "--arg=--stdio",
        "--arg=--token=ghp_ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
      ],
      // Names the core keeps for itself (a namespace of its own, the skills' mcp- prefix).
      ["mcp", "add", "hello", "--command=/bin/true"],
      ["mcp", "add", "mcp", "--command=/bin/true"],
      ["mcp", "add", "rel", "--command=node"],
    ]) {
      const r = await carapace(args);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toMatch(/\[(MCP|CONFIG)\] Error: .+ Fix: /);
    }
    expect(readFileSync(join(home, "config.toml"), "utf8")).toBe(before);
  });

  test("list without a core shows what is configured", async () => {
    const r = await carapace(["mcp", "list", "--json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      core_running: false,
      servers: [{ name: "fx", transport: "stdio", target: process.execPath }],
    });
  });

  test("with the core running, list shows the tools with their risk levels and the refused ones", async () => {
    core = await startCore({ home });
    const r = await carapace(["mcp", "list", "--json"]);
    const live = JSON.parse(r.stdout).servers[0].live;
    expect(live.state).toBe("healthy");
    const risk = Object.fromEntries(
      live.tools.map((t: { name: string; risk_level: string }) => [t.name, t.risk_level]),
    );
    expect(risk).toMatchObject({ "fx.read_note": "low", "fx.send_message": "low", "fx.hang": "low" });
    expect(live.refused.map((t: { tool: string }) => t.tool).sort()).toEqual(["open_args", "recursive"]);
    const text = await carapace(["mcp", "list"]);
    expect(text.stdout).toContain("fx.read_note");
    expect(text.stdout).toMatch(/refused open_args: schema_open: /);
  });

  test("test calls one tool through the pipeline as the operator", async () => {
    const ok = await carapace(["mcp", "test", "fx", "read_note", '{"title":"cli"}']);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ untrusted_content: { text: 'note "cli": buy milk' } });
    const failed = await carapace(["mcp", "test", "fx", "fail"]);
    expect(failed.code).toBe(1);
    expect(JSON.parse(failed.stderr)).toMatchObject({ code: "HANDLER_ERROR", handler_code: "MCP_TOOL_ERROR" });
    const unknown = await carapace(["mcp", "test", "fx", "open_args", "{}"]);
    expect(JSON.parse(unknown.stderr)).toMatchObject({ code: "UNKNOWN_TOOL" });
    const audit = readFileSync(join(home, "data/audit/default.jsonl"), "utf8");
    expect(audit).toContain('"topic":"tool.invoke.fx.read_note"');
  });

  test("secret stores a credential read from stdin, never from the command line; reserved names are refused", async () => {
    const stored = await carapace(["mcp", "secret", "web_auth", "--json"], "Bearer abc-123-secret\n");
    expect(stored.code).toBe(0);
    expect(readFileSync(join(home, "credentials/web_auth"), "utf8")).toBe("Bearer abc-123-secret");
    expect((await carapace(["mcp", "secret", "anthropic_api_key"], "x")).code).toBe(2);
    expect((await carapace(["mcp", "secret", "empty"], "\n")).code).toBe(2);
    expect((await carapace(["mcp", "secret", "web_auth", "the-value"], "")).code).toBe(2);
  });

  test("rm removes the table; a second rm fails", async () => {
    expect((await carapace(["mcp", "rm", "fx"])).code).toBe(0);
    expect(readFileSync(join(home, "config.toml"), "utf8")).not.toContain("mcp.servers.fx");
    const again = await carapace(["mcp", "rm", "fx"]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("no MCP server named fx");
  });
});
