import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeCredential } from "../../../src/config/credentials.ts";
import { FIXTURE_TOKEN, type HttpFixture, startHttpFixture } from "../../fixtures/mcp-server/setup.ts";
import { type RunningCore, startCore, tempHome } from "../../harness/core.ts";
import { rawRequest, wire } from "../../harness/raw.ts";
import { type Json, ROOMY_LIMITS } from "../../security/support.ts";

/** The test MCP server over streamable HTTP on loopback, reached by the bridge with a header from the credential store. */
describe("an MCP server over streamable HTTP, through the compiled core", () => {
  let fixture: HttpFixture;
  let core: RunningCore;
  let socket: string;
  const call = (tool: string, args: Json = {}) => rawRequest(socket, wire(`tool.invoke.${tool}`, args), 15_000) ?? {};

  beforeAll(async () => {
    fixture = await startHttpFixture();
    const home = tempHome();
    writeCredential(home, "fixture_auth", `Bearer ${FIXTURE_TOKEN}`);
    const config = `${ROOMY_LIMITS}handler_timeout_ms = 2000\n\n[mcp.servers.web]\nurl = "${fixture.url}"\nheaders = { Authorization = "fixture_auth" }\n`;
    core = await startCore({ home, config });
    socket = (await core.openSession("default")).socket;
  });
  afterAll(async () => {
    await core.stop();
    await fixture.stop();
  });

  test("its tools are checked and served like a stdio server's", async () => {
    const tools = (await core.carapace(["tools", "--json"])).json as unknown as Json[];
    const risk = Object.fromEntries(tools.map((t) => [t.name, t.risk_level]));
    expect(risk).toMatchObject({ "web.read_note": "low", "web.send_message": "high" });
    expect(risk["web.open_args"]).toBeUndefined();
    expect(call("web.read_note", { title: "h" }).result).toMatchObject({
      untrusted_content: { source: 'MCP server "web", tool "read_note"', text: 'note "h": buy milk' },
    });
  });

  test("a hang times out, 5 MiB is refused, an error result leaks nothing, a leaked credential is scrubbed", () => {
    expect(call("web.hang").error).toMatchObject({ code: "PLUGIN_TIMEOUT" });
    expect(call("web.big").error).toMatchObject({ code: "HANDLER_ERROR", message: expect.stringContaining("exceeds") });
    expect(call("web.fail").error).toMatchObject({ code: "HANDLER_ERROR", handler_code: "MCP_TOOL_ERROR" });
    const leaked = JSON.stringify(call("web.leak_secret").result);
    expect(leaked).toContain("[REDACTED");
    expect(leaked).not.toContain(FIXTURE_TOKEN);
  });

  test("once the server has crashed, calls get PLUGIN_UNAVAILABLE, and no credential reached the log", () => {
    call("web.crash");
    expect(call("web.read_note", { title: "x" }).error).toMatchObject({ code: "PLUGIN_UNAVAILABLE", stage: 6 });
    expect(core.output()).not.toContain(FIXTURE_TOKEN);
    expect(JSON.stringify(core.audit("default"))).not.toContain(FIXTURE_TOKEN);
  });
});
