import type { Database } from "bun:sqlite";
import { ToolError } from "@carapace/sdk";
import { ENTRY_LIMITS, type EntryType, isBehavioral } from "./entry-types.ts";
import { type MatchMode, queryTokens } from "./fts.ts";
import { type MatchFilter, planRanking, type Scored, scoreMatches } from "./ranking.ts";

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

/** How many of the newest matches are scored. Older matches are reached only when filters need them. */
export const RANK_WINDOW = 500;

/**
 * Current (not superseded) entries of the group, filtered by type and tags in SQL before LIMIT;
 * with a query, matched through FTS5 and ranked by bm25 among the newest RANK_WINDOW matches, with
 * each term's document count exact up to a budget and sampled beyond it (ranking.ts), so a word in a
 * third of a million rows costs about what a rare one does. Without one, newest first.
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
  const filter: MatchFilter = { sql: filters.join(" AND "), params };
  if (options.query === undefined) {
    // ast-grep-ignore: no-string-built-sql -- only constant column lists and filter fragments with ? placeholders are joined; all values are bound
    const rows = db
      .query<EntryRow, (string | number)[]>(
        `SELECT ${ENTRY_COLUMNS} FROM entries e WHERE ${filter.sql} ORDER BY e.id DESC LIMIT ?`,
      )
      .all(...params, options.limit);
    return { entries: rows.map((row) => ({ ...toEntry(row), score: null })) };
  }
  const tokens = queryTokens(options.query);
  if (tokens.length === 0)
    return { entries: [], note: "The query has no searchable words (only punctuation or symbols)." };
  const plan = planRanking(db, tokens, options.match ?? "all");
  const window = windowStart(db, plan.fts, Math.max(options.limit * 10, RANK_WINDOW));
  // FTS5's bm25() reads the window's term frequencies from the index, so the filters can wait for the
  // best-scored rows; the plugin's scoring reads each row anyway and filters as it goes.
  let rows = pickRows(db, scoreMatches(db, plan, window.from, plan.delegate ? null : filter), filter, options.limit);
  if (rows.length < options.limit && window.more) {
    rows = pickRows(db, scoreMatches(db, plan, 0, filter), filter, options.limit);
  }
  return { entries: rows };
}

/**
 * The rowid of the `candidates`-th newest match (0 when there are fewer: every match is in the
 * window), and whether older matches exist. FTS5 walks its index newest first and stops there.
 */
function windowStart(db: Database, fts: string, candidates: number): { from: number; more: boolean } {
  const rows = db
    .query<{ id: number }, [string, number]>(
      "SELECT rowid AS id FROM entries_fts WHERE entries_fts MATCH ? ORDER BY rowid DESC LIMIT 2 OFFSET ?",
    )
    .all(fts, candidates - 1);
  return { from: rows[0]?.id ?? 0, more: rows.length > 1 };
}

/**
 * The first `limit` scored matches that pass the filters, in score order, read from the entries
 * table in growing batches (most searches need only the first).
 */
function pickRows(
  db: Database,
  scored: readonly Scored[],
  filter: MatchFilter,
  limit: number,
): (MemoryEntry & { score: number })[] {
  // ast-grep-ignore: no-string-built-sql -- only constant column lists and filter fragments with ? placeholders are joined; all values are bound
  const statement = db.query<EntryRow, (string | number)[]>(
    `SELECT ${ENTRY_COLUMNS} FROM entries e WHERE e.id IN (SELECT value FROM json_each(?)) AND ${filter.sql}`,
  );
  const picked: (MemoryEntry & { score: number })[] = [];
  let batch = Math.max(limit * 2, 20);
  for (let at = 0; at < scored.length && picked.length < limit; at += batch, batch *= 4) {
    const slice = scored.slice(at, at + batch);
    const byId = new Map(statement.all(JSON.stringify(slice.map((s) => s.id)), ...filter.params).map((r) => [r.id, r]));
    for (const { id, score } of slice) {
      const row = byId.get(id);
      if (row && picked.length < limit) picked.push({ ...toEntry(row), score });
    }
  }
  return picked;
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
