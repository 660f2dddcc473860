/**
 * The MCP client inside one sandboxed plugin process (docs/ARCHITECTURE.md, "MCP servers"). It starts
 * the configured stdio server as its own child (inside the same sandbox, with only the server's own
 * credentials in its environment) or reaches the configured streamable-HTTP URL, lists the server's
 * tools for the core to check, and forwards calls. Nothing here is trusted by the core: the tool list
 * is checked there, results are sanitized and audited there.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { CARAPACE_VERSION } from "../../config/version.ts";
import { ToolError } from "../sdk/tool-error.ts";
import type { CoreServices, PluginHandler } from "../sdk/types.ts";
import { type BridgeSpec, MAX_LISTED_TOOLS, MAX_SCHEMA_BYTES } from "./bridge-spec.ts";
import { mcpResult } from "./result.ts";
import { stderrLines } from "./stderr-log.ts";

const SDK_BACKSTOP_MARGIN_MS = 5_000;

/** A failure to reach the server (not the tool's own error): the core answers PLUGIN_UNAVAILABLE. */
export class McpUnreachable extends Error {
  constructor() {
    super("the MCP server cannot be reached");
    this.name = "McpUnreachable";
  }
}

export interface BridgeHooks {
  /** The server's tool list changed (tools/list_changed): the core checks the new list again. */
  toolsChanged(tools: unknown[]): void;
  /** The server (or the connection to it) ended: this process ends too, and the core restarts it. */
  serverEnded(why: string): void;
}

/** Only what the core checks crosses, bounded: an oversized schema is sent as its size alone. */
function listedTool(raw: unknown): unknown {
  const t = (typeof raw === "object" && raw !== null ? raw : {}) as Record<string, unknown>;
  const schemaBytes = Buffer.byteLength(JSON.stringify(t.inputSchema ?? null));
  return {
    name: typeof t.name === "string" ? t.name.slice(0, 200) : null,
    description: typeof t.description === "string" ? t.description.slice(0, 2000) : "",
    annotations: { readOnlyHint: (t.annotations as { readOnlyHint?: unknown } | undefined)?.readOnlyHint === true },
    ...(schemaBytes > MAX_SCHEMA_BYTES
      ? { inputSchema: null, inputSchemaBytes: schemaBytes }
      : { inputSchema: t.inputSchema }),
  };
}

export class McpBridge implements PluginHandler {
  private client: Client | null = null;
  private spec: BridgeSpec | null = null;
  private closing = false;
  tools: unknown[] = [];

  constructor(private readonly hooks: BridgeHooks) {}

  async initialize(services: CoreServices): Promise<void> {
    const spec = services.config().mcp as BridgeSpec;
    this.spec = spec;
    const secrets: string[] = [];
    const credentialValue = async (credential: string) => {
      const value = (await services.readCredential(credential)) ?? "";
      if (value) secrets.push(value);
      return value;
    };
    let transport: Transport;
    if (spec.url) {
      const headers: Record<string, string> = {};
      for (const [name, credential] of Object.entries(spec.headers ?? {}))
        headers[name] = await credentialValue(credential);
      transport = new StreamableHTTPClientTransport(new URL(spec.url), { requestInit: { headers } });
    } else {
      // Only what the server needs: no variable of this process, only its own credentials.
      const env: Record<string, string> = { PATH: "/usr/bin:/bin", HOME: "/tmp", TMPDIR: "/tmp", LANG: "C.UTF-8" };
      for (const [name, credential] of Object.entries(spec.env ?? {})) env[name] = await credentialValue(credential);
      const stdio = new StdioClientTransport({
        command: spec.command as string,
        args: spec.args ?? [],
        env,
        cwd: "/tmp",
        stderr: "pipe",
      });
      stdio.stderr?.on(
        "data",
        stderrLines(secrets, (line) => services.log("warn", `mcp server: ${line}`)),
      );
      transport = stdio;
    }
    const client = new Client(
      { name: "carapace", version: CARAPACE_VERSION },
      {
        capabilities: {},
        listChanged: {
          tools: {
            autoRefresh: false,
            onChanged: () => {
              // Listed again in full (every page); the core checks the new list by the same rules.
              void this.listAll(client).then(
                (tools) => this.hooks.toolsChanged(tools),
                () => services.log("warn", "the MCP server announced new tools but did not list them"),
              );
            },
          },
        },
      },
    );
    client.onclose = () => {
      if (!this.closing) this.hooks.serverEnded("the MCP server closed the connection");
    };
    await client.connect(transport, { timeout: spec.timeout_ms });
    this.client = client;
    this.tools = await this.listAll(client);
  }

  private async listAll(client: Client): Promise<unknown[]> {
    const out: unknown[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 16 && out.length < MAX_LISTED_TOOLS; page++) {
      const listed = await client.listTools(cursor ? { cursor } : {}, { timeout: this.spec?.timeout_ms });
      out.push(...listed.tools);
      cursor = listed.nextCursor;
      if (!cursor) break;
    }
    return out.slice(0, MAX_LISTED_TOOLS).map(listedTool);
  }

  async handleToolInvocation(tool: string, args: Record<string, unknown>): Promise<unknown> {
    const client = this.client;
    const spec = this.spec;
    if (!client || !spec) throw new McpUnreachable();
    let result: Awaited<ReturnType<Client["callTool"]>>;
    try {
      // The core's handler timeout decides a slow call (PLUGIN_TIMEOUT); the SDK's own limit is only a
      // backstop, so it must not fire first and turn a slow tool into an unreachable server.
      result = await client.callTool({ name: tool, arguments: args }, undefined, {
        timeout: spec.timeout_ms + SDK_BACKSTOP_MARGIN_MS,
      });
    } catch {
      throw new McpUnreachable();
    }
    if (result.isError === true) {
      // The server's own error text stays here: it may carry internals (paths, stack traces, secrets).
      throw new ToolError("MCP_TOOL_ERROR", `the MCP tool ${tool} reported an error`);
    }
    return mcpResult(spec.server, tool, result);
  }

  async shutdown(): Promise<void> {
    this.closing = true;
    await this.client?.close().catch(() => {});
  }
}
