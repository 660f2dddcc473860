/**
 * `[mcp.servers.<name>]` as plugin candidates: each server is a plugin named after it, embedded in
 * the binary as the bridge (no folder), whose manifest the core writes from the config and whose tools
 * come from the server once it runs (checked by tool-check.ts).
 */
import { type McpServerConfig, mcpCredentialNames } from "../../config/mcp.ts";
import type { Candidate } from "../loader.ts";
import { checkPluginName } from "../manifest-check.ts";
import type { Manifest } from "../manifest-schema.ts";
import type { AcceptedTool } from "./tool-check.ts";

export function mcpCandidates(servers: Readonly<Record<string, McpServerConfig>>): Candidate[] {
  return Object.entries(servers)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, server]) => {
      const early = checkPluginName(name);
      return { name, source: "mcp", dir: null, label: `mcp.servers.${name}`, mcp: server, ...(early ? { early } : {}) };
    });
}

/** True for a stdio server: its bridge process needs network only when the config allows it. */
export function mcpNetwork(server: McpServerConfig): boolean {
  return server.url !== undefined || server.network === true;
}

/** The manifest the core holds for a server: its tools once checked, its groups, network and credentials. */
export function mcpManifest(name: string, server: McpServerConfig, tools: readonly AcceptedTool[]): Manifest {
  return {
    description: server.description ?? `MCP server ${name}`,
    version: "0.0.0",
    provides: {
      tools: tools.map((t) => ({
        name: t.name,
        description: t.description,
        risk_level: t.risk_level,
        arguments_schema: t.arguments_schema,
      })),
    },
    ...(server.allowed_groups ? { allowed_groups: server.allowed_groups } : {}),
    network: mcpNetwork(server),
    install: { credentials: mcpCredentialNames(server).map((key) => ({ key })) },
  };
}
