import { TomlDate } from "smol-toml";
import { channelKeysAt, channelSpecAt } from "./channel-keys.ts";
import { GROUP_KEYS, type KeySpec, SECTION_KEYS, SECTION_NAMES, type SectionName, TOP_LEVEL_KEYS } from "./keys.ts";
import { MCP_SERVER_KEYS } from "./mcp.ts";

/** Lookups and wording shared by validation errors and the `config` command. */

/** The spec of a key path such as ["security","max_frame_bytes"] or ["groups","work","policy"]. */
export function specAt(path: readonly string[]): KeySpec | undefined {
  if (path.length === 2 && isSection(path[0])) {
    return (SECTION_KEYS[path[0]] as Record<string, KeySpec>)[path[1] as string];
  }
  if (path.length === 3 && path[0] === "groups") return (GROUP_KEYS as Record<string, KeySpec>)[path[2] as string];
  return channelSpecAt(path) as KeySpec | undefined;
}

export function isSection(name: string | undefined): name is SectionName {
  return name !== undefined && (SECTION_NAMES as string[]).includes(name);
}

/** The keys valid directly under a table path ([] is the top level). */
export function validKeysAt(tablePath: readonly string[]): readonly string[] {
  if (tablePath.length === 0) return TOP_LEVEL_KEYS;
  if (tablePath.length === 1 && isSection(tablePath[0])) return Object.keys(SECTION_KEYS[tablePath[0]]);
  if (tablePath.length === 2 && tablePath[0] === "groups") return Object.keys(GROUP_KEYS);
  if (tablePath.length === 1 && tablePath[0] === "mcp") return ["servers"];
  if (tablePath.length === 3 && tablePath[0] === "mcp") return MCP_SERVER_KEYS;
  return channelKeysAt(tablePath) ?? [];
}

export function tableLabel(tablePath: readonly string[]): string {
  return tablePath.length === 0 ? "the top level" : `[${tablePath.join(".")}]`;
}

/** "at the top level" or "in [security]". */
export function inTable(tablePath: readonly string[]): string {
  return tablePath.length === 0 ? "at the top level" : `in [${tablePath.join(".")}]`;
}

export function expectedType(spec: KeySpec): string {
  switch (spec.kind) {
    case "string":
      return spec.patternHint === undefined ? "a string" : `a string (${spec.patternHint})`;
    case "integer":
      return `a whole number from ${spec.minimum} to ${spec.maximum}`;
    case "boolean":
      return "true or false";
    case "enum":
      return `one of ${spec.values.map((v) => JSON.stringify(v)).join(", ")}`;
    case "string-list":
      return spec.itemPatternHint === undefined
        ? `an array of at most ${spec.maxItems} strings`
        : `an array of at most ${spec.maxItems} strings, each ${spec.itemPatternHint}`;
  }
}

/** A short, single-line rendering of a value from a TOML file or the command line. */
export function describeValue(value: unknown): string {
  if (value instanceof TomlDate) return `the date ${value.toISOString()}`;
  if (value !== null && typeof value === "object" && !Array.isArray(value)) return "a table";
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** The candidate closest to `name` by edit distance, if it is close enough to be a likely typo. */
export function closest(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const candidate of candidates) {
    const d = editDistance(name, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
