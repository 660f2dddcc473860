/**
 * What the core hands the bridge process about its server (in the start message's config, never argv
 * or env): where the server is, which credential each variable or header takes, the call time limit.
 * The credential values themselves come with the start message's declared credentials.
 */
import type { McpServerConfig } from "../../config/mcp.ts";

export interface BridgeSpec {
  server: string;
  command?: string;
  args?: string[];
  url?: string;
  /** Variable name → credential name. */
  env?: Record<string, string>;
  /** Header name → credential name. */
  headers?: Record<string, string>;
  timeout_ms: number;
}

/** More tools than a manifest may declare are not listed (and the rest are refused by the core). */
export const MAX_LISTED_TOOLS = 128;
/** Largest input schema the core accepts, as JSON (a whole manifest is at most 64 KiB). */
export const MAX_SCHEMA_BYTES = 16 * 1024;

export function bridgeSpec(server: string, config: McpServerConfig, timeoutMs: number): BridgeSpec {
  return {
    server,
    ...(config.command !== undefined ? { command: config.command, args: config.args ?? [] } : {}),
    ...(config.url !== undefined ? { url: config.url } : {}),
    ...(config.env ? { env: config.env } : {}),
    ...(config.headers ? { headers: config.headers } : {}),
    timeout_ms: timeoutMs,
  };
}
