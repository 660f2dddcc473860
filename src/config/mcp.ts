/**
 * `[mcp.servers.<name>]` in config.toml: MCP servers the core runs (or reaches) on the host as plugins
 * (docs/ARCHITECTURE.md, "MCP servers"). Secrets never appear here: `env` and `headers` values name
 * entries of the credential store, which the core reads when it starts the server.
 */
import { GROUP_NAME_PATTERN } from "../protocol/group-name.ts";

/** A server's name is its tools' namespace (`<server>.<tool>`): the rules of a plugin name, without "-". */
export const MCP_SERVER_NAME_PATTERN = "^[a-z][a-z0-9_]{0,31}$";
const CREDENTIAL_NAME_PATTERN = "^[a-z0-9_-][a-z0-9_.-]{0,63}$";
const ENV_NAME_PATTERN = "^[A-Za-z_][A-Za-z0-9_]{0,63}$";
const HEADER_NAME_PATTERN = "^[A-Za-z0-9-]{1,64}$";
const ABSOLUTE_PATH_PATTERN = "^/[^\\0]{0,1023}$";
const TOOL_NAME_PATTERN = "^[A-Za-z0-9_.-]{1,128}$";
export const MCP_URL_PATTERN = "^https?://[^\\s/?#]+(/[^\\s#]*)?$";

export interface McpServerConfig {
  /** stdio: the executable (an absolute path) and its arguments. */
  command?: string;
  args?: string[];
  /** Streamable HTTP: the server's endpoint. */
  url?: string;
  /** Environment of a stdio server: variable name → credential name. */
  env?: Record<string, string>;
  /** Headers sent to an HTTP server: header name → credential name. */
  headers?: Record<string, string>;
  /** Extra host folders a stdio server needs, bound read-only into its sandbox. */
  paths?: string[];
  allowed_groups?: string[];
  /** Tools (their MCP names) that are low risk: no approval. */
  low_risk_tools?: string[];
  /** Tools that are high risk even where the server marks them read-only. */
  high_risk_tools?: string[];
  /** Network for a stdio server (an HTTP server's bridge always has it: it must reach the URL). */
  network?: boolean;
  description?: string;
}

export interface McpConfig {
  servers: Record<string, McpServerConfig>;
}

const stringMap = (keyPattern: string) => ({
  type: "object",
  maxProperties: 32,
  patternProperties: { [keyPattern]: { type: "string", pattern: CREDENTIAL_NAME_PATTERN } },
  additionalProperties: false,
});
const stringList = (pattern: string, maxItems: number) => ({
  type: "array",
  maxItems,
  items: { type: "string", minLength: 1, pattern },
});

/** One server's table; that it has exactly one of command and url is checked by mcpServerProblem. */
export const MCP_SERVER_SCHEMA = {
  type: "object",
  additionalProperties: false,
  properties: {
    command: { type: "string", pattern: ABSOLUTE_PATH_PATTERN },
    args: { type: "array", maxItems: 64, items: { type: "string", maxLength: 4096 } },
    url: { type: "string", pattern: MCP_URL_PATTERN, maxLength: 2048 },
    env: stringMap(ENV_NAME_PATTERN),
    headers: stringMap(HEADER_NAME_PATTERN),
    paths: stringList(ABSOLUTE_PATH_PATTERN, 16),
    allowed_groups: stringList(`^(\\*|${GROUP_NAME_PATTERN.slice(1, -1)})$`, 256),
    low_risk_tools: stringList(TOOL_NAME_PATTERN, 256),
    high_risk_tools: stringList(TOOL_NAME_PATTERN, 256),
    network: { type: "boolean" },
    description: { type: "string", minLength: 1, maxLength: 1000 },
  },
} as const;

export const MCP_SCHEMA = {
  type: "object",
  additionalProperties: false,
  properties: {
    servers: {
      type: "object",
      maxProperties: 64,
      patternProperties: { [MCP_SERVER_NAME_PATTERN]: MCP_SERVER_SCHEMA },
      additionalProperties: false,
    },
  },
} as const;

export const MCP_SERVER_KEYS = Object.keys(MCP_SERVER_SCHEMA.properties);

/** The credential names a server's config refers to (env and headers values). */
export function mcpCredentialNames(server: McpServerConfig): string[] {
  return [...new Set([...Object.values(server.env ?? {}), ...Object.values(server.headers ?? {})])].sort();
}

/** What is wrong with a server's table beyond its schema, or null. */
export function mcpServerProblem(server: McpServerConfig): string | null {
  if ((server.command === undefined) === (server.url === undefined)) return "needs exactly one of command and url";
  if (server.url !== undefined && (server.args !== undefined || server.env !== undefined || server.paths !== undefined))
    return "is a url server: args, env and paths belong to command servers";
  // Its bridge must reach the URL: network = false could not hold, and must not look as if it did.
  if (server.url !== undefined && server.network === false)
    return "is a url server: its bridge reaches the url over the network, so network = false cannot hold (remove it, or run the server as a command)";
  if (server.command !== undefined && server.headers !== undefined)
    return "is a command server: headers belong to url servers";
  return null;
}
