import type { Database } from "bun:sqlite";
import { ToolError } from "@carapace/sdk";
import { ENTRY_LIMITS, type EntryType, isBehavioral } from "./entry-types.ts";
import { type MatchMode, toFtsQuery } from "./fts.ts";

/** Who wrote an entry and when; copied from the request's ToolContext, never from arguments. */
export interface Provenance {
  readonly sessionId: string;
  readonly group: string;
  readonly createdAt: string;
}

export interface NewEntry {
  readonly type: EntryType;
  readonly content: string;
  readonly tags: readonly string[];
  readonly supersedes?: number;
}

export interface MemoryEntry {
  id: number;
  type: EntryType;
  behavioral: boolean;
  content: string;
  tags: string[];
  created_at: string;
  session_id: string;
  supersedes: number | null;
}

export interface StoredEntry {
  id: number;
  type: EntryType;
  behavioral: boolean;
  tags: string[];
  created_at: string;
  supersedes: number | null;
}

interface EntryRow {
  id: number;
  type: EntryType;
  content: string;
  tags: string;
  created_at: string;
  session_id: string;
  supersedes: number | null;
}

const ENTRY_COLUMNS = "e.id, e.type, e.content, e.tags, e.created_at, e.session_id, e.supersedes";
/** Tags are kept space-separated for the FTS index; the tag table is what filters use. */
const TAG_SEPARATOR = " ";

function toEntry(row: EntryRow): MemoryEntry {
  return {
    id: row.id,
    type: row.type,
    behavioral: isBehavioral(row.type),
    content: row.content,
    tags: row.tags === "" ? [] : row.tags.split(TAG_SEPARATOR),
    created_at: row.created_at,
    session_id: row.session_id,
    supersedes: row.supersedes,
  };
}

interface SupersedeTarget {
  id: number;
  superseded_by: number | null;
  chain_length: number;
}

/**
 * Inserts an entry; with `supersedes`, retires the old entry in the same IMMEDIATE transaction, so
 * either both happen or neither. Chains longer than `maxChainLength` are refused.
 */
export function insertEntry(
  db: Database,
  entry: NewEntry,
  provenance: Provenance,
  maxChainLength: number = ENTRY_LIMITS.maxChainLength,
): StoredEntry {
  const tagText = entry.tags.join(TAG_SEPARATOR);
  const write = db.transaction((): StoredEntry => {
    let chainLength = 1;
    if (entry.supersedes !== undefined) {
      const target = db
        .query<SupersedeTarget, [number, string]>(
          "SELECT id, superseded_by, chain_length FROM entries WHERE id = ? AND group_name = ?",
        )
        .get(entry.supersedes, provenance.group);
      if (!target) {
        throw new ToolError(
          "NOT_FOUND",
          `Memory entry ${entry.supersedes} does not exist in this group; nothing to supersede.`,
        );
      }
      if (target.superseded_by !== null) {
        throw new ToolError(
          "ALREADY_SUPERSEDED",
          `Memory entry ${target.id} was already superseded by entry ${target.superseded_by}; supersede that one instead.`,
        );
      }
      chainLength = target.chain_length + 1;
      if (chainLength > maxChainLength) {
        throw new ToolError(
          "SUPERSEDE_CHAIN_TOO_LONG",
          `Entry ${target.id} already ends a chain of ${target.chain_length} versions (limit ${maxChainLength}). Store the new text without "supersedes" and delete the old entry.`,
        );
      }
    }
    const inserted = db
      .query<{ id: number }, [string, string, string, string, string, string, number | null, number]>(
        `INSERT INTO entries (type, content, tags, session_id, group_name, created_at, supersedes, chain_length)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
      )
      .get(
        entry.type,
        entry.content,
        tagText,
        provenance.sessionId,
        provenance.group,
        provenance.createdAt,
        entry.supersedes ?? null,
        chainLength,
      );
    if (!inserted) throw new Error("memory insert returned no id");
    const addTag = db.query<unknown, [string, number]>(
      "INSERT OR IGNORE INTO entry_tags (tag, entry_id) VALUES (?, ?)",
    );
    for (const tag of entry.tags) addTag.run(tag, inserted.id);
    if (entry.supersedes !== undefined) {
      db.query<unknown, [number, string, number, string]>(
        "UPDATE entries SET superseded_by = ?, superseded_at = ? WHERE id = ? AND group_name = ? AND superseded_by IS NULL",
      ).run(inserted.id, provenance.createdAt, entry.supersedes, provenance.group);
    }
    return {
      id: inserted.id,
      type: entry.type,
      behavioral: isBehavioral(entry.type),
      tags: [...entry.tags],
      created_at: provenance.createdAt,
      supersedes: entry.supersedes ?? null,
    };
  });
  return write.immediate();
}

export interface SearchOptions {
  readonly query?: string;
  readonly match?: MatchMode;
  readonly types?: readonly EntryType[];
  /** Every listed tag must be present. */
  readonly tags?: readonly string[];
  readonly limit: number;
}

export interface SearchResult {
  entries: (MemoryEntry & { score: number | null })[];
  /** Set when the query had no searchable words left after neutralizing. */
  note?: string;
}

function placeholders(count: number): string {
  return Array.from({ length: count }, () => "?").join(", ");
}

/**
 * Current (not superseded) entries of the group, filtered by type and tags in SQL before LIMIT;
 * with a query, matched through FTS5 and ranked by bm25 among the newest RANK_WINDOW matches (so a
 * word in a third of a million rows costs the same as a rare one). Without one, newest first.
 */
export function searchEntries(db: Database, group: string, options: SearchOptions): SearchResult {
  const filters = ["e.group_name = ?", "e.superseded_by IS NULL"];
  const params: (string | number)[] = [group];
  if (options.types && options.types.length > 0) {
    filters.push(`e.type IN (${placeholders(options.types.length)})`);
    params.push(...options.types);
  }
  if (options.tags && options.tags.length > 0) {
    filters.push(
      `(SELECT count(*) FROM entry_tags t WHERE t.entry_id = e.id AND t.tag IN (${placeholders(options.tags.length)})) = ?`,
    );
    params.push(...options.tags, options.tags.length);
  }
  if (options.query === undefined) {
    // ast-grep-ignore: no-string-built-sql -- only constant column lists and filter fragments with ? placeholders are joined; all values are bound
    const rows = db
      .query<EntryRow, (string | number)[]>(
        `SELECT ${ENTRY_COLUMNS} FROM entries e WHERE ${filters.join(" AND ")} ORDER BY e.id DESC LIMIT ?`,
      )
      .all(...params, options.limit);
    return { entries: rows.map((row) => ({ ...toEntry(row), score: null })) };
  }
  const fts = toFtsQuery(options.query, options.match ?? "all");
  if (fts === null) return { entries: [], note: "The query has no searchable words (only punctuation or symbols)." };
  const rank = (candidates: number | null) =>
    rankedMatches(db, fts, filters.join(" AND "), params, options.limit, candidates);
  const candidates = Math.max(options.limit * 10, RANK_WINDOW);
  let rows = rank(candidates);
  if (rows.length < options.limit && matchesMoreThan(db, fts, candidates)) rows = rank(null);
  return { entries: rows.map((row) => ({ ...toEntry(row), score: row.score })) };
}

/** How many of the newest matches are scored. Older matches are reached only when filters need them. */
export const RANK_WINDOW = 500;

/**
 * Ranks matches by bm25 (content weighs twice the tags) and applies the filters in SQL before LIMIT.
 * With `candidates`, only the newest N matches are scored, joined and filtered: FTS5 walks its index
 * in rowid order and stops after N, so neither bm25 nor a table lookup runs for every match of a
 * common word. When that window yields fewer than `limit` rows the caller reruns it over all
 * matches, so a filter never loses results.
 */
function rankedMatches(
  db: Database,
  fts: string,
  filters: string,
  params: readonly (string | number)[],
  limit: number,
  candidates: number | null,
): (EntryRow & { score: number })[] {
  const source =
    candidates === null
      ? "SELECT rowid AS id, bm25(entries_fts, 2.0, 1.0) AS score FROM entries_fts WHERE entries_fts MATCH ?"
      : "SELECT rowid AS id, bm25(entries_fts, 2.0, 1.0) AS score FROM entries_fts WHERE entries_fts MATCH ? ORDER BY rowid DESC LIMIT ?";
  const head: (string | number)[] = candidates === null ? [fts] : [fts, candidates];
  // ast-grep-ignore: no-string-built-sql -- `source` is one of two constant statements; all values are bound
  const statement = db.query<EntryRow & { score: number }, (string | number)[]>(
    `WITH hits AS (${source})
       SELECT ${ENTRY_COLUMNS}, hits.score AS score FROM hits JOIN entries e ON e.id = hits.id
       WHERE ${filters} ORDER BY hits.score LIMIT ?`,
  );
  return statement.all(...head, ...params, limit);
}

function matchesMoreThan(db: Database, fts: string, count: number): boolean {
  const row = db
    .query<{ n: number }, [string, number]>(
      "SELECT count(*) AS n FROM (SELECT rowid FROM entries_fts WHERE entries_fts MATCH ? LIMIT ?)",
    )
    .get(fts, count + 1);
  return (row?.n ?? 0) > count;
}

/** Deletes one entry of the group (its tags and index rows follow). False when there is none. */
export function deleteEntry(db: Database, group: string, id: number): boolean {
  const result = db
    .query<unknown, [number, string]>("DELETE FROM entries WHERE id = ? AND group_name = ?")
    .run(id, group);
  return result.changes > 0;
}

/** Current entries for the brief: behavioral first, newest first within each part. */
export function briefEntries(db: Database, limit: number): MemoryEntry[] {
  return db
    .query<EntryRow, [number]>(
      `SELECT ${ENTRY_COLUMNS} FROM entries e WHERE e.superseded_by IS NULL
       ORDER BY e.behavioral DESC, e.id DESC LIMIT ?`,
    )
    .all(limit)
    .map(toEntry);
}

/** Removes entries that were superseded more than `days` days before `now`. Returns how many. */
export function purgeSuperseded(db: Database, days: number, now: Date): number {
  const cutoff = new Date(now.getTime() - days * 86_400_000).toISOString();
  return db
    .query<unknown, [string]>("DELETE FROM entries WHERE superseded_by IS NOT NULL AND superseded_at < ?")
    .run(cutoff).changes;
}

export function countEntries(db: Database): number {
  return db.query<{ n: number }, []>("SELECT count(*) AS n FROM entries").get()?.n ?? 0;
}
