/**
 * What `carapace plugin validate|list` (and doctor) report without a running core: the same checks the
 * loader runs at start-up, in the same order.
 */
import { basename, resolve } from "node:path";
import { EMBEDDED_PLUGINS } from "./builtins.ts";
import { PluginLoadError, type PluginProblem, problem } from "./failure.ts";
import { type Candidate, discoverPlugins, importHandler, type LoaderSettings, prepareCandidate } from "./loader.ts";
import type { Manifest } from "./manifest-schema.ts";
import { INTRINSIC_TOOL_NAMES } from "./reserved.ts";
import type { PluginSource } from "./status.ts";

export interface ValidationReport {
  name: string;
  dir: string;
  valid: boolean;
  version: string | null;
  tools: string[];
  problems: PluginProblem[];
  /** Allowed but worth knowing (e.g. every group may call the tools). */
  warnings: string[];
}

/** Tools the core and the embedded plugins provide, except those of a plugin `replacing` would override. */
function coreTaken(replacing: string): Map<string, string> {
  const taken = new Map<string, string>(INTRINSIC_TOOL_NAMES.map((n) => [n, "core"]));
  for (const p of EMBEDDED_PLUGINS) {
    if (p.name === replacing) continue;
    const manifest = JSON.parse(p.manifestText) as Manifest;
    for (const t of manifest.provides.tools ?? []) taken.set(t.name, p.name);
  }
  return taken;
}

function warningsFor(manifest: Manifest): string[] {
  const out: string[] = [];
  if (manifest.allowed_groups === undefined) {
    out.push('no "allowed_groups": every group may call its tools (list the groups to narrow it)');
  }
  if ((manifest.provides.tools ?? []).length === 0 && (manifest.provides.channels ?? []).length === 0) {
    out.push("it provides no tools and no channels");
  }
  return out;
}

/** Every load-time check of one plugin folder; with `importCheck`, also imports its handler.ts. */
export async function validatePluginFolder(
  path: string,
  options: { importCheck?: boolean } = {},
): Promise<ValidationReport> {
  const dir = resolve(path);
  const name = basename(dir);
  const candidate: Candidate = { name, source: "user", dir, label: path };
  const prepared = prepareCandidate(candidate, coreTaken(name));
  const report: ValidationReport = {
    name,
    dir,
    valid: false,
    version: prepared.manifest?.version ?? null,
    tools: (prepared.manifest?.provides.tools ?? []).map((t) => t.name),
    problems: prepared.problems,
    warnings: prepared.manifest ? warningsFor(prepared.manifest) : [],
  };
  if (prepared.manifest && prepared.problems.length === 0 && options.importCheck !== false) {
    try {
      await importHandler(candidate);
    } catch (error) {
      const p =
        error instanceof PluginLoadError ? error.problem : problem("import_failed", "handler.ts failed to load");
      const detail = error instanceof PluginLoadError && error.detail ? ` (${error.detail})` : "";
      report.problems = [{ category: p.category, message: `${p.message}${detail}` }];
    }
  }
  report.valid = report.problems.length === 0;
  return report;
}

export interface ListedPlugin {
  name: string;
  source: PluginSource;
  dir: string | null;
  /** What the loader would do: load it, refuse it, or skip it. */
  state: "ok" | "failed" | "disabled" | "overridden";
  version: string | null;
  tools: string[];
  category?: string;
  reason?: string;
}

/** Every plugin the loader would consider, checked statically (handlers are not imported). */
export function listPlugins(settings: LoaderSettings): ListedPlugin[] {
  const discovery = discoverPlugins(settings);
  const taken = new Map<string, string>(INTRINSIC_TOOL_NAMES.map((n) => [n, "core"]));
  const out: ListedPlugin[] = [];
  for (const c of discovery.candidates) {
    const prepared = prepareCandidate(c, taken);
    const first = prepared.problems[0];
    const entry: ListedPlugin = {
      name: c.name,
      source: c.source,
      dir: c.dir,
      state: first ? "failed" : "ok",
      version: prepared.manifest?.version ?? null,
      tools: (prepared.manifest?.provides.tools ?? []).map((t) => t.name),
    };
    if (first) {
      entry.category = first.category;
      entry.reason = first.message;
    } else for (const t of entry.tools) taken.set(t, c.name);
    out.push(entry);
  }
  for (const s of discovery.skipped) {
    out.push({
      name: s.name,
      source: s.source,
      dir: s.dir,
      state: s.state === "disabled" ? "disabled" : "overridden",
      version: null,
      tools: [],
    });
  }
  return out;
}
