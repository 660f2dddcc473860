import type { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { EntryType } from "../../../plugins/memory/entry-types.ts";
import { MEMORY_MIGRATIONS } from "../../../plugins/memory/migrations.ts";
import {
  countEntries,
  insertEntry,
  purgeSuperseded,
  RANK_WINDOW,
  searchEntries,
} from "../../../plugins/memory/store.ts";
import { openMemoryDb } from "../../../src/storage/group-db.ts";

const provenance = { sessionId: "s", group: "main", createdAt: "2026-11-05T00:00:00.000Z" };

describe("ranked search with filters over many matches", () => {
  let db: Database;
  let buried: number;
  beforeAll(() => {
    db = openMemoryDb(MEMORY_MIGRATIONS, "MEMORY");
    // 400 facts that score better for "deploy" than the one instruction below.
    for (let i = 0; i < 400; i++) {
      insertEntry(
        db,
        { type: "fact", content: `deploy deploy deploy ${i}`, tags: i % 2 === 0 ? ["even"] : [] },
        provenance,
      );
    }
    const long = `deploy ${"unrelated words that dilute the score ".repeat(20)}`;
    buried = insertEntry(db, { type: "instruction", content: long, tags: ["rare"] }, provenance).id;
  });
  afterAll(() => db.close());

  test("a filter that only a low-ranked entry passes still finds it (no post-LIMIT loss)", () => {
    const byType = searchEntries(db, "main", { query: "deploy", types: ["instruction"], limit: 5 });
    expect(byType.entries.map((e) => e.id)).toEqual([buried]);
    const byTag = searchEntries(db, "main", { query: "deploy", tags: ["rare"], limit: 5 });
    expect(byTag.entries.map((e) => e.id)).toEqual([buried]);
  });

  test("results are ordered by bm25 and capped by limit", () => {
    const result = searchEntries(db, "main", { query: "deploy", limit: 50 });
    expect(result.entries).toHaveLength(50);
    const scores = result.entries.map((e) => e.score as number);
    expect([...scores].sort((a, b) => a - b)).toEqual(scores);
    expect(result.entries.map((e) => e.id)).not.toContain(buried);
  });

  test("tag filters need every listed tag", () => {
    const even = searchEntries(db, "main", { query: "deploy", tags: ["even"], limit: 50 });
    expect(even.entries).toHaveLength(50);
    expect(even.entries.every((e) => e.tags.includes("even"))).toBe(true);
    expect(searchEntries(db, "main", { query: "deploy", tags: ["even", "rare"], limit: 50 }).entries).toHaveLength(0);
  });

  test("another group's name finds nothing, even in the same file", () => {
    expect(searchEntries(db, "other", { query: "deploy", limit: 5 }).entries).toHaveLength(0);
    expect(searchEntries(db, "other", { limit: 5 }).entries).toHaveLength(0);
  });
});

describe("ranking is bounded to the newest matches", () => {
  test("a better-scored match older than the window is not ranked, unless a filter needs it", () => {
    const db = openMemoryDb(MEMORY_MIGRATIONS, "MEMORY");
    const oldBest = insertEntry(
      db,
      { type: "instruction", content: "deploy deploy deploy deploy", tags: [] },
      provenance,
    ).id;
    const filler = `deploy ${"words that dilute the score ".repeat(10)}`;
    for (let i = 0; i < RANK_WINDOW + 50; i++)
      insertEntry(db, { type: "fact", content: `${filler}${i}`, tags: [] }, provenance);
    const ranked = searchEntries(db, "main", { query: "deploy", limit: 10 });
    expect(ranked.entries).toHaveLength(10);
    expect(ranked.entries.map((e) => e.id)).not.toContain(oldBest);
    expect(ranked.entries.every((e) => e.id > oldBest + 50)).toBe(true);
    const filtered = searchEntries(db, "main", { query: "deploy", types: ["instruction"], limit: 10 });
    expect(filtered.entries.map((e) => e.id)).toEqual([oldBest]);
    db.close();
  });
});

describe("purgeSuperseded", () => {
  test("removes only entries superseded before the cutoff, with their index rows", () => {
    const db = openMemoryDb(MEMORY_MIGRATIONS, "MEMORY");
    const at = (createdAt: string) => ({ ...provenance, createdAt });
    const type: EntryType = "fact";
    const a = insertEntry(db, { type, content: "alpha one", tags: ["x"] }, at("2026-01-01T00:00:00.000Z")).id;
    insertEntry(db, { type, content: "alpha two", tags: [], supersedes: a }, at("2026-01-02T00:00:00.000Z"));
    const c = insertEntry(db, { type, content: "gamma one", tags: [] }, at("2026-03-01T00:00:00.000Z")).id;
    insertEntry(db, { type, content: "gamma two", tags: [], supersedes: c }, at("2026-03-20T00:00:00.000Z"));
    expect(purgeSuperseded(db, 30, new Date("2026-04-01T00:00:00.000Z"))).toBe(1);
    expect(countEntries(db)).toBe(3);
    expect(db.query("SELECT count(*) AS n FROM entry_tags").get()).toEqual({ n: 0 });
    expect(db.query("SELECT rowid FROM entries_fts WHERE entries_fts MATCH '\"one\"'").all()).toEqual([{ rowid: c }]);
    db.exec("INSERT INTO entries_fts (entries_fts) VALUES ('integrity-check')");
    db.close();
  });
});
