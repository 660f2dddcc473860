import type { PluginStatus } from "../status.ts";
import type { RefusedTool } from "./tool-check.ts";

/** One MCP server as the operator sees it (`carapace mcp list`, `plugin list`, doctor). */
export interface McpServerView {
  name: string;
  state: PluginStatus["state"];
  category?: string;
  reason?: string;
  detail?: string;
  tools: { name: string; risk_level: "low" | "high"; description: string; allowed_groups: readonly string[] }[];
  refused: RefusedTool[];
}

/** The part of the catalog read here. */
interface ToolList {
  list(): readonly (McpServerView["tools"][number] & { plugin: string })[];
}

export function mcpServerViews(statuses: readonly PluginStatus[], catalog: ToolList): McpServerView[] {
  return statuses
    .filter((s) => s.source === "mcp")
    .map((s) => ({
      name: s.name,
      state: s.state,
      ...(s.category ? { category: s.category } : {}),
      ...(s.reason ? { reason: s.reason } : {}),
      ...(s.detail ? { detail: s.detail } : {}),
      tools: catalog
        .list()
        .filter((t) => t.plugin === s.name)
        .map((t) => ({
          name: t.name,
          risk_level: t.risk_level,
          description: t.description,
          allowed_groups: t.allowed_groups,
        })),
      refused: s.refused ?? [],
    }));
}
