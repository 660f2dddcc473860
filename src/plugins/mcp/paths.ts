/**
 * What of the host a stdio MCP server sees: its executable and the folders its config lists, bound
 * read-only. Never the Carapace home (the credential store is there), nor a folder that holds it.
 */
import { existsSync, realpathSync } from "node:fs";
import { dirname, resolve, sep } from "node:path";
import type { McpServerConfig } from "../../config/mcp.ts";

/** Already visible in every plugin sandbox (sandbox.ts binds them read-only). */
const SYSTEM_DIRS = ["/usr", "/lib", "/lib64", "/bin", "/sbin"];

function within(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : `${dir}${sep}`);
}

function real(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

/** Why the server's paths may not be bound, or null: none may be, hold or lie inside `home`. */
export function mcpPathProblem(server: McpServerConfig, home: string): string | null {
  const h = real(home);
  for (const p of [...(server.command ? [server.command] : []), ...(server.paths ?? [])]) {
    const r = real(p);
    if (within(h, r) || within(r, h))
      return `${p} is or holds the Carapace home (its credential store); list only the server's own folders`;
  }
  return null;
}

/** The host paths to bind: the command (its real file) and `paths`, minus what is visible already. */
export function mcpReadOnlyPaths(server: McpServerConfig, sourceRoot: string | null): string[] {
  const wanted = [...(server.command ? [real(server.command)] : []), ...(server.paths ?? []).map(real)];
  const visible = [...SYSTEM_DIRS, ...(sourceRoot ? [sourceRoot] : [])];
  const out: string[] = [];
  for (const p of [...new Set(wanted)].sort((a, b) => a.length - b.length)) {
    if (!existsSync(p) || visible.some((v) => within(p, v)) || out.some((o) => within(p, o))) continue;
    out.push(p);
  }
  return out.filter((p) => p !== dirname(p));
}
