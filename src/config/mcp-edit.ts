/**
 * `carapace mcp add|rm`: one `[mcp.servers.<name>]` table appended to or removed from config.toml.
 * The whole resulting configuration is validated before anything is written; the rest of the file
 * keeps its comments and layout (or, where a table cannot be cut out cleanly, the file is rewritten).
 */
import { parse, stringify, type TomlTable } from "smol-toml";
import { EXIT } from "../errors/user-error.ts";
import { writeFileAtomic } from "./atomic-write.ts";
import { ConfigError } from "./config-error.ts";
import { ensureHome } from "./home.ts";
import { parseConfigText, readConfigFile, type UserConfig } from "./load.ts";
import type { McpServerConfig } from "./mcp.ts";
import { formatTomlValue, sameTomlData } from "./toml-edit.ts";

function inlineTable(map: Record<string, string>): string {
  const pairs = Object.entries(map).map(
    ([k, v]) => `${/^[A-Za-z0-9_-]+$/.test(k) ? k : JSON.stringify(k)} = ${formatTomlValue(v)}`,
  );
  return `{ ${pairs.join(", ")} }`;
}

/** The table as TOML text, keys in a fixed order. */
export function mcpServerToml(name: string, server: McpServerConfig): string {
  const lines = [`[mcp.servers.${name}]`];
  for (const [key, value] of Object.entries(server)) {
    if (value === undefined) continue;
    lines.push(
      `${key} = ${typeof value === "object" && !Array.isArray(value) ? inlineTable(value) : formatTomlValue(value)}`,
    );
  }
  return `${lines.join("\n")}\n`;
}

function write(home: string, path: string, text: string, location: string): void {
  parseConfigText(text, location);
  ensureHome(home);
  writeFileAtomic(path, text, 0o600);
}

/** Adds a server; refuses a name already configured. Returns the config file's path. */
export function addMcpServer(home: string, name: string, server: McpServerConfig): string {
  const file = readConfigFile(home);
  if (file.user.mcp?.servers?.[name] !== undefined)
    throw new ConfigError(
      `mcp.servers.${name}`,
      `an MCP server named "${name}" is configured already`,
      `remove it first with \`carapace mcp rm ${name}\`, or pick another name`,
      EXIT.usage,
    );
  const body = (file.text ?? "").trimEnd();
  const text = `${body === "" ? "" : `${body}\n\n`}${mcpServerToml(name, server)}`;
  try {
    write(home, file.path, text, "on the command line; config.toml was not changed");
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError(error.key, error.what, error.fix, EXIT.usage);
    throw error;
  }
  return file.path;
}

/** Removes a server's table; false when none is configured under that name. */
export function removeMcpServer(home: string, name: string): boolean {
  const file = readConfigFile(home);
  if (file.text === null || file.user.mcp?.servers?.[name] === undefined) return false;
  const expected = structuredClone(file.user) as UserConfig;
  delete expected.mcp?.servers?.[name];
  const lines = file.text.split("\n");
  const start = lines.findIndex((l) => l.trim() === `[mcp.servers.${name}]`);
  let text: string | null = null;
  if (start >= 0) {
    let end = start + 1;
    while (end < lines.length && !(lines[end] as string).trimStart().startsWith("[")) end++;
    const cut = [...lines.slice(0, start), ...lines.slice(end)].join("\n");
    if (sameTomlData(parse(cut), expected)) text = cut;
  }
  write(home, file.path, text ?? stringify(expected as TomlTable), file.path);
  return true;
}
