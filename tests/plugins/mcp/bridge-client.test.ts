/**
 * The bridge's MCP client on its own (in this process, no sandbox) against the test server over
 * stdio: what it lists for the core, how it maps results and errors, list_changed, a server that ends.
 * The same code through the compiled core and its sandbox is bridge.test.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { McpBridge, McpUnreachable } from "../../../src/plugins/mcp/bridge.ts";
import { mcpResult } from "../../../src/plugins/mcp/result.ts";
import { ToolError } from "../../../src/plugins/sdk/tool-error.ts";
import type { CoreServices } from "../../../src/plugins/sdk/types.ts";
import { FIXTURE_SERVER, FIXTURE_TOKEN, FIXTURE_TOKEN_HALVES } from "../../fixtures/mcp-server/setup.ts";

function services(logs: string[]): CoreServices {
  const spec = {
    server: "fx",
    command: process.execPath,
    args: [FIXTURE_SERVER, "--stdio"],
    env: { FIXTURE_TOKEN: "t" },
    timeout_ms: 5000,
  };
  return {
    config: () => ({ mcp: spec }),
    readCredential: async (key: string) => (key === "t" ? FIXTURE_TOKEN : null),
    log: (_level: string, message: string) => void logs.push(message),
  } as unknown as CoreServices;
}

describe("the bridge's MCP client", () => {
  const logs: string[] = [];
  const changed: unknown[][] = [];
  const ended: string[] = [];
  const bridge = new McpBridge({ toolsChanged: (t) => void changed.push(t), serverEnded: (w) => void ended.push(w) });

  beforeAll(async () => {
    await bridge.initialize(services(logs));
  });
  afterAll(async () => {
    await bridge.shutdown();
  });

  test("lists the server's tools with only what the core checks", () => {
    const names = (bridge.tools as { name: string }[]).map((t) => t.name);
    expect(names).toContain("read_note");
    expect(bridge.tools[0]).toEqual({
      name: "read_note",
      description: "Reads a note by its title (read-only).",
      annotations: { readOnlyHint: true },
      inputSchema: expect.objectContaining({ type: "object", additionalProperties: false }),
    });
  });

  test("a result is untrusted content; an error result a ToolError without the server's text", async () => {
    expect(await bridge.handleToolInvocation("sent_count", {})).toEqual({
      untrusted_content: {
        source: 'MCP server "fx", tool "sent_count"',
        notice: expect.any(String),
        text: "0",
        structured: { sent: 0 },
      },
    });
    const error = await bridge.handleToolInvocation("fail", {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ToolError);
    expect((error as ToolError).code).toBe("MCP_TOOL_ERROR");
    expect(JSON.stringify({ ...(error as object), message: (error as Error).message })).not.toContain("hunter22");
  });

  test("the server's stderr reaches the log without its credential", () => {
    expect(logs.join("\n")).toContain("fixture MCP server starting; token [REDACTED]");
    expect(logs.join("\n")).not.toContain(FIXTURE_TOKEN);
    // It is written in two writes (two reads here): no half of it is logged on a line of its own.
    for (const half of FIXTURE_TOKEN_HALVES) expect(logs.join("\n")).not.toContain(half);
  });

  test("tools/list_changed sends the whole new list", async () => {
    await bridge.handleToolInvocation("add_tools", {});
    for (let i = 0; i < 400 && changed.length === 0; i++) await Bun.sleep(50);
    expect((changed[0] as { name: string }[]).map((t) => t.name)).toContain("extra_open");
  });

  test("a server that ends is reported, and calls after it are unreachable", async () => {
    await bridge.handleToolInvocation("crash", {}).catch(() => null);
    for (let i = 0; i < 400 && ended.length === 0; i++) await Bun.sleep(50);
    expect(ended).toEqual(["the MCP server closed the connection"]);
    expect(await bridge.handleToolInvocation("read_note", { title: "x" }).catch((e: unknown) => e)).toBeInstanceOf(
      McpUnreachable,
    );
  });
});

describe("MCP results as the agent gets them", () => {
  test("text and embedded text resources pass; binary content is named, not passed", () => {
    const out = mcpResult("s", "t", {
      content: [
        { type: "text", text: "a" },
        { type: "resource", resource: { uri: "file:///n.txt", text: "b" } },
        { type: "resource", resource: { uri: "file:///n.bin", blob: "AAAA" } },
        { type: "resource_link", uri: "https://x.test/doc", name: "doc" },
        { type: "image", data: "AAAA", mimeType: "image/png" },
        "not a block",
      ],
    });
    expect(out.untrusted_content.text).toBe("a\nb\n[resource link: https://x.test/doc]");
    expect(out.untrusted_content.omitted).toEqual(["binary resource file:///n.bin", "image content (image/png)"]);
    expect(mcpResult("s", "t", {}).untrusted_content.text).toBe("");
  });
});
