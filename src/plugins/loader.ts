/**
 * Finding, checking and importing plugins. Built-ins come embedded in the binary or
 * from `$CARAPACE_HOME/lib/plugins`; then any `[plugins] dirs`; then the user's `$CARAPACE_HOME/plugins`.
 * A later source replaces a plugin of the same name. Nothing a plugin folder holds runs before its
 * folder and manifest pass every check.
 */
import { closeSync, constants, lstatSync, openSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { McpServerConfig } from "../config/mcp.ts";
import { EMBEDDED_PLUGINS, type EmbeddedPlugin } from "./builtins.ts";
import { PluginLoadError, type PluginProblem, problem } from "./failure.ts";
import { checkPluginFolder } from "./folder-check.ts";
import { importDetail } from "./import-detail.ts";
import { checkManifest, checkPluginName, MAX_MANIFEST_BYTES, toolCollisions } from "./manifest-check.ts";
import type { Manifest } from "./manifest-schema.ts";
import type { PluginHandler } from "./sdk/types.ts";
import { registerSdkModule } from "./sdk-seam.ts";
import type { PluginSource, PluginStatus } from "./status.ts";

export interface LoaderSettings {
  home: string;
  /** Extra folders holding plugin folders (`[plugins] dirs`). */
  dirs?: readonly string[];
  /** Plugin names not to load (`[plugins] disabled`). */
  disabled?: readonly string[];
  /** Load the plugins embedded in the binary (memory). Default true. */
  builtins?: boolean;
  /** Channels enabled in config.toml: an embedded channel plugin loads only when its channel is one. */
  channels?: readonly string[];
}

export interface Candidate {
  name: string;
  source: PluginSource;
  /** The plugin folder; null when embedded in the binary. */
  dir: string | null;
  /** How messages name the folder (relative to the home where possible). */
  label: string;
  embedded?: EmbeddedPlugin;
  /** An MCP server from config.toml: the bridge runs it; its manifest is written by the core. */
  mcp?: McpServerConfig;
  overrides?: PluginSource;
  /** Found while discovering, before the folder is looked at (e.g. an invalid folder name). */
  early?: PluginProblem;
}

export interface Discovery {
  /** In load order: built-ins first, then the rest by name. */
  candidates: Candidate[];
  /** Plugins that will not load and are not failures: disabled, or replaced by a later source. */
  skipped: PluginStatus[];
}

function folderEntries(root: string): string[] {
  try {
    return readdirSync(root)
      .filter((entry) => !entry.startsWith("."))
      .filter((entry) => {
        const stat = lstatSync(join(root, entry));
        return stat.isDirectory() || stat.isSymbolicLink();
      })
      .sort();
  } catch {
    return [];
  }
}

function shownName(entry: string): string {
  return entry.replace(/[^\x20-\x7e]/g, "?").slice(0, 40);
}

/** Every plugin the loader would consider, with later sources replacing earlier ones by name. */
export function discoverPlugins(settings: LoaderSettings): Discovery {
  const byName = new Map<string, Candidate>();
  const skipped: PluginStatus[] = [];
  const add = (c: Candidate) => {
    const previous = byName.get(c.name);
    if (previous) {
      c.overrides = previous.source;
      skipped.push(statusOf(previous, "overridden", []));
    }
    byName.set(c.name, c);
  };
  if (settings.builtins !== false) {
    for (const p of EMBEDDED_PLUGINS) {
      if (p.channel !== undefined && !(settings.channels ?? []).includes(p.channel)) continue;
      add({ name: p.name, source: "builtin", dir: null, label: p.name, embedded: p });
    }
  }
  const roots: [PluginSource, string, string][] = [
    ["lib", join(settings.home, "lib/plugins"), "lib/plugins"],
    ...(settings.dirs ?? []).map((d): [PluginSource, string, string] => ["dir", d, d]),
    ["user", join(settings.home, "plugins"), "plugins"],
  ];
  for (const [source, root, rootLabel] of roots) {
    for (const entry of folderEntries(root)) {
      const name = shownName(entry);
      const early = checkPluginName(entry) ?? undefined;
      add({ name, source, dir: join(root, entry), label: `${rootLabel}/${name}`, ...(early ? { early } : {}) });
    }
  }
  const disabled = new Set(settings.disabled ?? []);
  const candidates: Candidate[] = [];
  for (const c of byName.values()) {
    if (disabled.has(c.name)) skipped.push(statusOf(c, "disabled", []));
    else candidates.push(c);
  }
  candidates.sort(
    (a, b) => Number(b.source === "builtin") - Number(a.source === "builtin") || a.name.localeCompare(b.name),
  );
  return { candidates, skipped };
}

export function statusOf(c: Candidate, state: PluginStatus["state"], tools: string[], version: string | null = null) {
  const status: PluginStatus = { name: c.name, source: c.source, dir: c.dir, version, state, tools };
  if (c.overrides) status.overrides = c.overrides;
  return status;
}

/** manifest.json read without following a link that may have replaced it since the folder check. */
function readManifestBytes(dir: string): Uint8Array {
  const fd = openSync(join(dir, "manifest.json"), constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const bytes = readFileSync(fd);
    if (bytes.length > MAX_MANIFEST_BYTES) return bytes.subarray(0, MAX_MANIFEST_BYTES + 1);
    return bytes;
  } finally {
    closeSync(fd);
  }
}

export interface Prepared {
  manifest: Manifest | null;
  problems: PluginProblem[];
}

/**
 * Every static check of one candidate: its name, its folder, its manifest, and tool names already
 * taken by the core or by plugins loaded before it (`taken`: tool name → owner).
 */
export function prepareCandidate(c: Candidate, taken: ReadonlyMap<string, string> = new Map()): Prepared {
  if (c.early) return { manifest: null, problems: [c.early] };
  let bytes: Uint8Array | string;
  if (c.embedded) bytes = c.embedded.manifestText;
  else {
    const dir = c.dir as string;
    const folder = checkPluginFolder(dir, c.label);
    if (folder.length > 0) return { manifest: null, problems: folder };
    try {
      bytes = readManifestBytes(dir);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? "unknown error";
      const category = code === "ELOOP" ? "path_traversal" : "manifest_invalid";
      return { manifest: null, problems: [problem(category, `${c.label}/manifest.json cannot be read (${code})`)] };
    }
  }
  const checked = checkManifest(c.name, bytes);
  if (!checked.manifest) return checked;
  const collisions = toolCollisions(checked.manifest, taken, c.name);
  if (collisions.length > 0) return { manifest: null, problems: collisions };
  return checked;
}

function isHandler(value: unknown): value is PluginHandler {
  if (typeof value !== "object" || value === null) return false;
  const h = value as Record<string, unknown>;
  return typeof h.initialize === "function" && typeof h.handleToolInvocation === "function";
}

/**
 * Imports the candidate's handler (the SDK seam is registered first). Throws PluginLoadError.
 * A `cacheKey` imports handler.ts afresh (hot reload) instead of the module loaded before.
 */
export async function importHandler(c: Candidate, cacheKey?: string): Promise<PluginHandler> {
  registerSdkModule();
  let mod: { default?: unknown };
  if (c.embedded) mod = await c.embedded.load();
  else {
    const dir = c.dir as string;
    try {
      const query = cacheKey ? `?v=${encodeURIComponent(cacheKey)}` : "";
      mod = (await import(`${join(dir, "handler.ts")}${query}`)) as { default?: unknown };
    } catch (error) {
      const err = new PluginLoadError(problem("import_failed", `${c.label}/handler.ts could not be imported`));
      err.detail = importDetail(error, dir);
      throw err;
    }
  }
  if (!isHandler(mod.default)) {
    throw new PluginLoadError(
      problem(
        "import_failed",
        `${c.label}/handler.ts must \`export default\` an object with initialize() and handleToolInvocation()`,
      ),
    );
  }
  return mod.default;
}
