import type { FailureCategory } from "./failure.ts";

/** Where a plugin came from: embedded in the binary, the release's lib/plugins, a [plugins] dirs entry, the user's plugins/, or an [mcp.servers.*] table. */
export type PluginSource = "builtin" | "lib" | "dir" | "user" | "mcp";

export type PluginState =
  | "loading"
  | "healthy"
  | "restarting"
  | "failed"
  | "stopping"
  | "stopped"
  | "disabled"
  | "overridden";

/** What the core knows about one plugin; shown by get_session_info, `plugin list` and doctor. */
export interface PluginStatus {
  name: string;
  source: PluginSource;
  /** Null for a plugin embedded in the binary. */
  dir: string | null;
  version: string | null;
  state: PluginState;
  tools: string[];
  category?: FailureCategory;
  /** Written by the core; safe to show to the agent. */
  reason?: string;
  /** The plugin's own error text (sanitized), for the operator only. */
  detail?: string;
  /** An MCP server's tools the core refused, and why (shown by `plugin list`, `mcp list` and doctor). */
  refused?: { tool: string; category: FailureCategory; reason: string }[];
  /** The source of the plugin of the same name this one replaced. */
  overrides?: PluginSource;
}
