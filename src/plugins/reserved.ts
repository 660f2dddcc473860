/** Names the core keeps for itself: plugins may neither take nor shadow them. */
export const INTRINSIC_TOOL_NAMES: readonly string[] = [
  "get_diagnostics",
  "list_tools",
  "get_session_info",
  "task.create",
  "task.list",
  "task.cancel",
];
export const RESERVED_NAMESPACES: readonly string[] = ["hello", "tool", "core", "carapace", "task"];
// A plugin's data folders are data/<name> and data/<name>-*: "audit", "core", "tasks" and "conversations"
// would give it the core's own folders (every group's audit log, task or conversation database);
// "workspaces" and "claude" every group's agent-written workspace (and the old per-group Claude state).
// "mcp" would let a plugin's skill pass for an MCP server's (skills are named mcp-<server>).
const CORE_DATA_FOLDERS: readonly string[] = ["audit", "core", "tasks", "conversations", "workspaces", "claude"];
export const RESERVED_PLUGIN_NAMES: readonly string[] = [
  ...RESERVED_NAMESPACES,
  "intrinsic",
  "sdk",
  "plugin",
  "mcp",
  ...CORE_DATA_FOLDERS,
];

/** Why a tool name is reserved, or null when a plugin may use it. */
export function reservedToolReason(name: string): string | null {
  if (INTRINSIC_TOOL_NAMES.includes(name)) return `"${name}" is an intrinsic tool of the core`;
  const namespace = name.split(".")[0] ?? name;
  if (RESERVED_NAMESPACES.includes(namespace)) return `the namespace "${namespace}" is reserved for the core`;
  return null;
}

/**
 * The core's own secrets (the model key, the OAuth token, the release signing key) and their
 * families: no manifest may declare them, so no plugin process is ever handed one.
 */
export const RESERVED_CREDENTIALS: readonly string[] = [
  "anthropic_api_key",
  "anthropic_oauth_token",
  "release_signing_key",
];
const RESERVED_CREDENTIAL_PREFIXES: readonly string[] = ["anthropic_", "carapace_", "release_"];

/** Why a credential name is reserved for the core, or null when a plugin may declare it. */
export function reservedCredentialReason(key: string): string | null {
  if (RESERVED_CREDENTIALS.includes(key)) return "it is one of the core's own credentials";
  const prefix = RESERVED_CREDENTIAL_PREFIXES.find((p) => key.startsWith(p));
  return prefix ? `names starting with "${prefix}" are reserved for the core` : null;
}
