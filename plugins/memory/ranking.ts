import type { Database } from "bun:sqlite";
import { ftsPhrases, joinPhrases, type MatchMode } from "./fts.ts";

/**
 * bm25 over a bounded window of matches. FTS5's bm25() counts the rows holding each term by walking
 * the term's whole index (300k rows for a word in a third of a million entries), whatever the window.
 * Here a term in at most RARE_TERM_ROWS rows is counted exactly (that walk is short); a commoner one
 * is counted among the newest SAMPLE_ROWS rows of the index (FTS5 seeks to the first of them) and the
 * count scaled to the whole index. While the query's terms are in at most DELEGATE_ROWS rows together
 * (certainly so in a group of fewer rows per term, which is then not counted), FTS5's bm25() is cheap
 * enough and used as is: it reads term frequencies from the index without a row lookup. Past that the plugin computes the same formula with its counts, the term frequencies from
 * `highlight()` marks and the lengths from the index's row sizes. Counts come from the live index, so
 * deletes and supersedes are reflected on the next search.
 */
export const RARE_TERM_ROWS = 1_000;
export const SAMPLE_ROWS = 10_000;
export const DELEGATE_ROWS = 100_000;

/** FTS5 bm25()'s constants; content weighs twice the tags. */
const K1 = 1.2;
const B = 0.75;
const CONTENT_WEIGHT = 2.0;
const TAGS_WEIGHT = 1.0;
const COLUMNS = 2;

/** highlight() marks: bytes that never occur in UTF-8 text, so stored content cannot forge one. */
const OPEN = 0xfe;
const CLOSE = 0xff;

export interface RankPlan {
  readonly fts: string;
  /** FTS5's own bm25() (few matches to count) or the plugin's scoring. */
  readonly delegate: boolean;
  /** Per term: the rows holding it, exact or estimated; empty when the group is too small to need them. */
  readonly counts: readonly number[];
  /** Per term: its UTF-8 bytes, the key a highlighted match of it folds to, and its IDF. */
  readonly spellings: readonly Uint8Array[];
  readonly keys: readonly string[];
  readonly idf: readonly number[];
  readonly avgLength: number;
}

export interface Scored {
  id: number;
  score: number;
}

/** SQLite's varint (FTS5 uses it in its averages record and row sizes): 7 bits a byte, big-endian. */
function readVarint(bytes: Uint8Array, at: number): [number, number] {
  let value = 0;
  for (let i = 0; i < 8; i++) {
    const byte = bytes[at + i] ?? 0;
    value = value * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) return [value, at + i + 1];
  }
  return [value * 256 + (bytes[at + 8] ?? 0), at + 9];
}

function sumVarints(bytes: Uint8Array, from: number, count: number): number {
  let total = 0;
  let at = from;
  for (let i = 0; i < count; i++) {
    const [value, next] = readVarint(bytes, at);
    total += value;
    at = next;
  }
  return total;
}

/** Rows in the index and their average length in tokens, from FTS5's averages record. */
function indexStats(db: Database): { rows: number; avgLength: number } {
  const row = db.query<{ block: Uint8Array }, []>("SELECT block FROM entries_fts_data WHERE id = 1").get();
  if (!row) return { rows: 0, avgLength: 0 };
  const [rows, at] = readVarint(row.block, 0);
  return { rows, avgLength: rows > 0 ? sumVarints(row.block, at, COLUMNS) / rows : 0 };
}

/** How many rows hold each phrase: exact for a rare one (or a small index), else sampled and scaled. */
function documentCounts(db: Database, phrases: readonly string[], rows: number): number[] {
  const bounded = db.query<{ n: number }, [string, number]>(
    "SELECT count(*) AS n FROM (SELECT rowid FROM entries_fts WHERE entries_fts MATCH ? LIMIT ?)",
  );
  const inSample = db.query<{ n: number }, [string, number]>(
    "SELECT count(*) AS n FROM entries_fts WHERE entries_fts MATCH ? AND rowid >= ?",
  );
  let sampleStart: number | undefined;
  return phrases.map((phrase) => {
    const few = bounded.get(phrase, RARE_TERM_ROWS + 1)?.n ?? 0;
    if (few <= RARE_TERM_ROWS || rows <= SAMPLE_ROWS) {
      return few <= RARE_TERM_ROWS ? few : (inSample.get(phrase, 0)?.n ?? 0);
    }
    sampleStart ??=
      db
        .query<{ id: number }, [number]>("SELECT id FROM entries_fts_docsize ORDER BY id DESC LIMIT 1 OFFSET ?")
        .get(SAMPLE_ROWS - 1)?.id ?? 0;
    return Math.round(((inSample.get(phrase, sampleStart)?.n ?? 0) * rows) / SAMPLE_ROWS);
  });
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** What a matched token folds to, near enough to tell the query's terms apart (FTS5 folds case and diacritics). */
function phraseKey(text: string): string {
  return text
    .normalize("NFKD")
    .replace(/[^\p{L}\p{N}]/gu, "")
    .toLowerCase();
}

export function planRanking(db: Database, tokens: readonly string[], mode: MatchMode): RankPlan {
  const phrases = ftsPhrases(tokens);
  const { rows, avgLength } = indexStats(db);
  // A group too small for the terms to exceed the budget together needs no counting at all.
  const counts = rows * phrases.length <= DELEGATE_ROWS ? [] : documentCounts(db, phrases, rows);
  const delegate = counts.reduce((sum, n) => sum + n, 0) <= DELEGATE_ROWS;
  const idf = counts.map((n) => {
    const value = Math.log((rows - n + 0.5) / (n + 0.5));
    return value > 0 ? value : 1e-6;
  });
  return {
    fts: joinPhrases(phrases, mode),
    delegate,
    counts,
    spellings: tokens.map((token) => encoder.encode(token)),
    keys: tokens.map(phraseKey),
    idf,
    avgLength,
  };
}

function sameBytes(bytes: Uint8Array, from: number, to: number, term: Uint8Array): boolean {
  if (to - from !== term.length) return false;
  for (let i = 0; i < term.length; i++) if (bytes[from + i] !== term[i]) return false;
  return true;
}

/**
 * Adds `weight` to a term's frequency for every highlighted match of it in one column's marked text.
 * A match spelled as the query spelled it is told by its bytes; any other spelling (case, accents)
 * by its folded key.
 */
function countMarks(marks: Uint8Array, weight: number, plan: RankPlan, frequencies: number[]): void {
  let open = marks.indexOf(OPEN);
  while (open !== -1) {
    const close = marks.indexOf(CLOSE, open + 1);
    if (close === -1) return;
    if (plan.keys.length === 1) frequencies[0] = (frequencies[0] ?? 0) + weight;
    else {
      const spelled = plan.spellings.findIndex((term) => sameBytes(marks, open + 1, close, term));
      const key = spelled === -1 ? phraseKey(decoder.decode(marks.subarray(open + 1, close))) : plan.keys[spelled];
      plan.keys.forEach((k, i) => {
        if (k === key) frequencies[i] = (frequencies[i] ?? 0) + weight;
      });
    }
    open = marks.indexOf(OPEN, close + 1);
  }
}

interface MarkedRow {
  id: number;
  content_marks: Uint8Array | null;
  tag_marks: Uint8Array | null;
  sizes: Uint8Array | null;
}

const NOTHING = new Uint8Array(0);

/** FTS5 bm25()'s formula for one row (negated: lower is better). */
function bm25(plan: RankPlan, row: MarkedRow): number {
  const frequencies = plan.keys.map(() => 0);
  countMarks(row.content_marks ?? NOTHING, CONTENT_WEIGHT, plan, frequencies);
  countMarks(row.tag_marks ?? NOTHING, TAGS_WEIGHT, plan, frequencies);
  const length = sumVarints(row.sizes ?? NOTHING, 0, COLUMNS);
  let score = 0;
  frequencies.forEach((f, i) => {
    score += ((plan.idf[i] ?? 0) * (f * (K1 + 1.0))) / (f + K1 * (1 - B + (B * length) / plan.avgLength));
  });
  return -1.0 * score;
}

export interface MatchFilter {
  readonly sql: string;
  readonly params: readonly (string | number)[];
}

/**
 * Scores the matches from rowid `from` on (the window, or 0 for all), best first, newer first on a tie.
 * With `filter`, only rows of the entries table that pass it are scored.
 */
export function scoreMatches(db: Database, plan: RankPlan, from: number, filter: MatchFilter | null): Scored[] {
  const join = filter === null ? "" : "JOIN entries e ON e.id = entries_fts.rowid";
  const where = filter === null ? "" : `AND ${filter.sql}`;
  const params = [plan.fts, from, ...(filter?.params ?? [])];
  let scored: Scored[];
  if (plan.delegate) {
    // ast-grep-ignore: no-string-built-sql -- `join` is constant and `where` holds filter fragments with ? placeholders; all values are bound
    scored = db
      .query<Scored, (string | number)[]>(
        `SELECT entries_fts.rowid AS id, bm25(entries_fts, ${CONTENT_WEIGHT.toFixed(1)}, ${TAGS_WEIGHT.toFixed(1)}) AS score
         FROM entries_fts ${join} WHERE entries_fts MATCH ? AND entries_fts.rowid >= ? ${where}`,
      )
      .all(...params);
  } else {
    // ast-grep-ignore: no-string-built-sql -- `join` is constant and `where` holds filter fragments with ? placeholders; all values are bound
    const rows = db
      .query<MarkedRow, (string | number)[]>(
        `SELECT entries_fts.rowid AS id,
           CAST(highlight(entries_fts, 0, X'FE', X'FF') AS BLOB) AS content_marks,
           CAST(highlight(entries_fts, 1, X'FE', X'FF') AS BLOB) AS tag_marks, d.sz AS sizes
         FROM entries_fts JOIN entries_fts_docsize d ON d.id = entries_fts.rowid ${join}
         WHERE entries_fts MATCH ? AND entries_fts.rowid >= ? ${where}`,
      )
      .all(...params);
    scored = rows.map((row) => ({ id: row.id, score: bm25(plan, row) }));
  }
  return scored.sort((a, b) => a.score - b.score || b.id - a.id);
}
