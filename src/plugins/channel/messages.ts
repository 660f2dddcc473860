/**
 * The plugin channel: what the core and one plugin process say to each other over the plugin's own
 * ZeroMQ socket (core ROUTER, plugin DEALER). The frames are the protocol's own shapes: a request is
 * `{topic, correlation, arguments}` and an answer is a reply frame (`{kind, correlation, result|error}`),
 * in both directions. docs/ARCHITECTURE.md describes the life of a plugin call.
 */
import type { Envelope } from "../../protocol/envelope.ts";
import type { ErrorObject } from "../../protocol/errors.ts";
import type { ChannelDelivery, SessionInfoView, ToolCatalogEntry, ToolContext } from "../sdk/types.ts";

/** Requests the core sends to a plugin process. */
export const TO_PLUGIN = {
  initialize: "plugin.initialize",
  invoke: "plugin.invoke",
  event: "plugin.event",
  brief: "plugin.brief",
  /** A channel plugin sends something to its chat service (an answer, a typing indicator, buttons). */
  deliver: "plugin.deliver",
  ping: "plugin.ping",
  shutdown: "plugin.shutdown",
} as const;

/** Requests a plugin process sends to the core (its CoreServices calls, its first hello). */
export const TO_CORE = {
  hello: "core.hello",
  auditLog: "core.service.audit_log",
  publish: "core.service.publish_event",
  log: "core.service.log",
  /** The MCP bridge: the server's tool list changed; the core checks it again. */
  mcpTools: "core.mcp.tools_changed",
  /** A channel plugin reports a press of one of the buttons the core asked it to show. */
  button: "core.service.channel_button",
} as const;

/** The optional handler hooks a plugin process reports in its hello. */
export type PluginHook = "handleEvent" | "sessionBrief" | "verify" | "shutdown" | "deliver";

export interface ChannelRequest<A = unknown> {
  topic: string;
  correlation: string;
  arguments: A;
}

export type ChannelAnswer =
  | { kind: "result"; correlation: string; result: unknown }
  | { kind: "error"; correlation: string; error: ChannelError };

/** A handler's failure as it crosses the boundary: only a ToolError keeps its code and message. */
export type ChannelError =
  | { tool_error: true; code: string; message: string; retriable: boolean }
  | {
      tool_error?: false;
      code: ErrorObject["code"] | "IMPORT_FAILED" | "BAD_HANDLER" | "INIT_FAILED" | "MCP_UNREACHABLE";
      message: string;
    };

/** What a tool call or an event carries: the core's scope of the request, and the views it may read. */
export interface Scoped {
  /** The core's id of this request; the plugin's service calls name it, never a group. */
  scope: string;
  views?: GroupViews;
}

export interface InvokeArgs extends Scoped {
  tool: string;
  args: Record<string, unknown>;
  context: ToolContext;
}

export interface EventArgs extends Scoped {
  envelope: Envelope;
}

export interface DeliverArgs extends Scoped {
  delivery: ChannelDelivery;
}

export interface BriefArgs extends Scoped {
  group: string;
}

/** The parts of the catalog and the plugin statuses a request's group may see (getToolCatalog, getSessionInfo). */
export interface GroupViews {
  group: string;
  revision: number;
  tools: ToolCatalogEntry[];
  plugins: SessionInfoView["plugins"];
}

/** What the core hands a plugin process on stdin at start (never argv or env). */
export interface RunnerStart {
  plugin: string;
  endpoint: string;
  /** Proves the connection is this process: the first frame on the socket must carry it. */
  nonce: string;
  /** `mcp`: the MCP bridge (plugins/mcp/bridge.ts), its server described in `config.mcp`. */
  handler: { kind: "embedded"; name: string } | { kind: "file"; path: string } | { kind: "mcp" };
  /** Where dataDir(feature) folders live as the process sees them. */
  dataRoot: string;
  /** Only the credentials the manifest declares, read by the core. */
  credentials: Record<string, string | null>;
  config: Record<string, unknown>;
  maxResponseBytes: number;
}

export const MAX_START_BYTES = 4 * 1024 * 1024;
