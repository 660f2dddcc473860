import type { McpServerConfig } from "../config/mcp.ts";
import { stripTerminalEscapes } from "../core/response/terminal-text.ts";
import type { McpServerView } from "../plugins/mcp/status-view.ts";
import type { CheckResult } from "./check.ts";

const clean = (text: string) =>
  stripTerminalEscapes(text)
    .replace(/[\r\n]+/g, " ")
    .slice(0, 300);

/**
 * The configured MCP servers; with a running core (`live`), each one's state and every tool it
 * refused with the reason (a refused tool is known only once the server has listed its tools).
 */
export function checkMcpServers(
  configured: Readonly<Record<string, McpServerConfig>>,
  live: readonly McpServerView[] | null,
): CheckResult[] {
  const names = Object.keys(configured).sort();
  if (names.length === 0) return [];
  if (!live)
    return [
      {
        id: "mcp",
        title: "MCP servers",
        level: "pass",
        detail: `${names.length} configured (${names.join(", ")}); start the core to check their tools`,
      },
    ];
  return names.map((name): CheckResult => {
    const view = live.find((s) => s.name === name);
    const id = `mcp.${name}`;
    const title = `MCP server ${name}`;
    if (!view || view.state === "failed")
      return {
        id,
        title,
        level: "fail",
        detail: view
          ? `failed: ${view.category ?? "unknown"}: ${clean(view.reason ?? "")}`
          : "not loaded by the running core",
        fix: `see the core's log for the server's last lines; correct [mcp.servers.${name}] and restart the core`,
      };
    if (view.refused.length > 0)
      return {
        id,
        title,
        level: "warn",
        detail: `${view.tools.length} tool(s) loaded; refused: ${view.refused.map((r) => `${clean(r.tool)} (${r.category}: ${clean(r.reason)})`).join("; ")}`,
        fix: "a refused tool cannot be called; correct its input schema in the server (closed objects, no $ref), or leave it unused",
      };
    return { id, title, level: "pass", detail: `${view.state}, ${view.tools.length} tool(s)` };
  });
}
