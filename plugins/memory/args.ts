import { ToolError } from "@carapace/sdk";
import { ENTRY_LIMITS, ENTRY_TYPES, type EntryType, isEntryType } from "./entry-types.ts";
import type { MatchMode } from "./fts.ts";

/**
 * The handler's own check of arguments. The core already validated them against the manifest's
 * closed schemas; this repeats the same rules so the handler is safe when called directly, and
 * turns the loose `Record<string, unknown>` into typed values.
 */
function fail(field: string, message: string): never {
  throw new ToolError("INVALID_ARGUMENTS", `Argument "${field}" ${message}`);
}

function onlyKeys(args: Record<string, unknown>, allowed: readonly string[]): void {
  for (const key of Object.keys(args)) {
    if (!allowed.includes(key)) fail(key, `is not accepted (allowed: ${allowed.join(", ") || "none"}).`);
  }
}

/** No control characters or line/paragraph separators in a tag. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const TAG_FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

function readTags(value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > ENTRY_LIMITS.maxTags)
    fail("tags", `must be a list of at most ${ENTRY_LIMITS.maxTags} strings.`);
  const tags = new Set<string>();
  for (const item of value) {
    if (typeof item !== "string") fail("tags", "must contain only strings.");
    const tag = item.trim().toLowerCase();
    if (tag.length === 0 || tag.length > ENTRY_LIMITS.maxTagChars || TAG_FORBIDDEN.test(tag) || /\s/.test(tag)) {
      fail("tags", `entries must be 1-${ENTRY_LIMITS.maxTagChars} characters without spaces or control characters.`);
    }
    tags.add(tag);
  }
  return [...tags];
}

function readType(value: unknown): EntryType {
  if (!isEntryType(value)) fail("type", `must be one of ${ENTRY_TYPES.join(", ")}.`);
  return value;
}

function readId(field: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1)
    fail(field, "must be a positive integer entry id.");
  return value;
}

export interface StoreArgs {
  type: EntryType;
  content: string;
  tags: string[];
  supersedes?: number;
}

export function readStoreArgs(args: Record<string, unknown>): StoreArgs {
  onlyKeys(args, ["type", "content", "tags", "supersedes"]);
  const type = readType(args.type);
  const content = typeof args.content === "string" ? args.content.trim() : "";
  if (content.length === 0 || content.length > ENTRY_LIMITS.maxContentChars) {
    fail("content", `must be a non-empty string of at most ${ENTRY_LIMITS.maxContentChars} characters.`);
  }
  const out: StoreArgs = { type, content, tags: readTags(args.tags) };
  if (args.supersedes !== undefined) out.supersedes = readId("supersedes", args.supersedes);
  return out;
}

export interface SearchArgs {
  query?: string;
  match: MatchMode;
  types: EntryType[];
  tags: string[];
  limit: number;
}

export function readSearchArgs(args: Record<string, unknown>): SearchArgs {
  onlyKeys(args, ["query", "match", "types", "tags", "limit"]);
  const out: SearchArgs = {
    match: "all",
    types: [],
    tags: readTags(args.tags),
    limit: ENTRY_LIMITS.defaultSearchResults,
  };
  if (args.query !== undefined) {
    if (typeof args.query !== "string" || args.query.length > ENTRY_LIMITS.maxQueryChars) {
      fail("query", `must be a string of at most ${ENTRY_LIMITS.maxQueryChars} characters.`);
    }
    out.query = args.query;
  }
  if (args.match !== undefined) {
    if (args.match !== "all" && args.match !== "any") fail("match", 'must be "all" or "any".');
    out.match = args.match;
  }
  if (args.types !== undefined) {
    if (!Array.isArray(args.types) || args.types.length > ENTRY_TYPES.length)
      fail("types", "must be a list of entry types.");
    out.types = [...new Set(args.types.map(readType))];
  }
  if (args.limit !== undefined) {
    const limit = args.limit;
    if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 1 || limit > ENTRY_LIMITS.maxSearchResults) {
      fail("limit", `must be an integer from 1 to ${ENTRY_LIMITS.maxSearchResults}.`);
    }
    out.limit = limit;
  }
  return out;
}

export function readDeleteArgs(args: Record<string, unknown>): { id: number } {
  onlyKeys(args, ["id"]);
  return { id: readId("id", args.id) };
}

export function readBriefArgs(args: Record<string, unknown>): void {
  onlyKeys(args, []);
}
