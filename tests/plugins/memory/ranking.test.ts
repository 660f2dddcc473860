import type { Database } from "bun:sqlite";
import { afterEach, describe, expect, test } from "bun:test";
import { MEMORY_MIGRATIONS } from "../../../plugins/memory/migrations.ts";
import { EXACT_COUNT_BUDGET, SAMPLE_ROWS } from "../../../plugins/memory/ranking.ts";
import { insertEntry } from "../../../plugins/memory/store.ts";
import { openGroupDb } from "../../../src/storage/group-db.ts";
import { contextFor, type EntryView, entriesOf, type MemoryHarness, memoryHarness } from "./helpers.ts";

let harness: MemoryHarness | undefined;
afterEach(() => {
  harness?.cleanup();
  harness = undefined;
});

const QUOTAS = { store_quota: 10_000, supersede_quota: 10_000, delete_quota: 10_000 };

async function setup(): Promise<MemoryHarness> {
  harness = await memoryHarness(QUOTAS);
  return harness;
}

/** The group's real SQLite file, the connection the plugin uses. */
function groupDb(h: MemoryHarness, group: string): Database {
  return openGroupDb({ dataRoot: h.dataRoot, feature: "memory", group, migrations: MEMORY_MIGRATIONS });
}

/** Older entries written straight into the group's file in one transaction (the store's insert path). */
function seed(h: MemoryHarness, group: string, count: number, content: (i: number) => string): void {
  const db = groupDb(h, group);
  const provenance = { sessionId: "seed", group, createdAt: "2026-11-01T00:00:00.000Z" };
  db.transaction(() => {
    for (let i = 0; i < count; i++) insertEntry(db, { type: "fact", content: content(i), tags: [] }, provenance);
  })();
}

/** FTS5's own bm25 (exact document counts, every match) for the same query, by id. */
function fts5Scores(h: MemoryHarness, group: string, fts: string): Map<number, number> {
  const rows = groupDb(h, group)
    .query<{ id: number; score: number }, [string]>(
      "SELECT rowid AS id, bm25(entries_fts, 2.0, 1.0) AS score FROM entries_fts WHERE entries_fts MATCH ?",
    )
    .all(fts);
  return new Map(rows.map((r) => [r.id, r.score]));
}

async function store(h: MemoryHarness, content: string, tags: string[] = []): Promise<number> {
  return (await h.call("memory_store", { type: "fact", content, tags }, contextFor("main"))).id as number;
}

async function search(h: MemoryHarness, args: Record<string, unknown>): Promise<EntryView[]> {
  return entriesOf(await h.call("memory_search", args, contextFor("main")));
}

const FILLER = "words that only make this entry longer and so a weaker match than the short ones";

/**
 * Both regimes: a small group (every document count exact, scored by FTS5's bm25) and a group whose
 * terms occur in more rows than the exact-count budget (document counts sampled, scored by the plugin).
 */
const REGIMES: [string, number][] = [
  ["exact counts", 0],
  ["sampled counts", 2 * SAMPLE_ROWS + 500],
];

/** Seeding tens of thousands of rows takes a while on a loaded machine. */
const SLOW = 120_000;

describe.each(REGIMES)("ranking with %s", (_regime, background) => {
  test(
    "a better-scored match outranks a worse one, and content weighs twice the tags",
    async () => {
      const h = await setup();
      seed(h, "main", background, (i) => `deploy alpha ${FILLER} ${i}`);
      const better = await store(h, "deploy deploy checklist");
      const worse = await store(h, `deploy checklist ${FILLER}`);
      const inContent = await store(h, "release deploy notes");
      // Same length as inContent and newer: with equal weights the tie would put it first.
      const inTags = await store(h, "release notes", ["deploy"]);
      const found = await search(h, { query: "deploy", limit: 50 });
      const rank = (id: number) => found.findIndex((e) => e.id === id);
      for (const id of [better, worse, inContent, inTags]) expect(rank(id)).toBeGreaterThanOrEqual(0);
      expect(rank(better)).toBeLessThan(rank(worse));
      expect(rank(better)).toBeLessThan(rank(inContent));
      expect(rank(inContent)).toBeLessThan(rank(inTags));
      const scores = found.map((e) => e.score as number);
      expect([...scores].sort((a, b) => a - b)).toEqual(scores);
      // Sampled or exact, the scores stay close to FTS5's exact bm25 (a term in every row: same IDF).
      const exact = fts5Scores(h, "main", '"deploy"');
      for (const e of found) expect(Math.abs((e.score as number) / (exact.get(e.id) as number) - 1)).toBeLessThan(0.05);
    },
    SLOW,
  );

  test(
    "with several terms, a match of the rarer term outranks a match of the common one",
    async () => {
      const h = await setup();
      seed(h, "main", background, (i) => `alpha ${FILLER} ${i}`);
      for (let i = 0; i < 20; i++) await store(h, `alpha marker ${i}`);
      const rare = await store(h, "beta marker two");
      // Same length as `rare` and newer: with equal term weights it would come first.
      const common = await store(h, "alpha marker one");
      const both = await store(h, "alpha beta marker");
      const found = await search(h, { query: "alpha beta", match: "any", limit: 10 });
      expect(found.slice(0, 2).map((e) => e.id)).toEqual([both, rare]);
      expect(found.findIndex((e) => e.id === common)).toBeGreaterThan(1);
    },
    SLOW,
  );

  test(
    "a filter only an entry older than the window passes still finds it",
    async () => {
      const h = await setup();
      const old = (
        await h.call("memory_store", { type: "instruction", content: "deploy on fridays never" }, contextFor("main"))
      ).id as number;
      seed(h, "main", Math.max(background, 600), (i) => `deploy ${FILLER} ${i}`);
      const found = await search(h, { query: "deploy", types: ["instruction"], limit: 5 });
      expect(found.map((e) => e.id)).toEqual([old]);
      expect(await search(h, { query: "deploy", limit: 5 })).toHaveLength(5);
    },
    SLOW,
  );
});

describe("the plugin's bm25 with exact counts", () => {
  /** Two terms in every row: more matches than the exact-count budget, so the plugin scores them. */
  function seedBoth(h: MemoryHarness): void {
    const rows = Math.ceil(EXACT_COUNT_BUDGET / 2) + 200;
    expect(rows).toBeLessThanOrEqual(SAMPLE_ROWS);
    seed(h, "main", rows, (i) => `alpha ${"beta ".repeat(1 + (i % 3))}${"other ".repeat(i % 5)}row${i % 7}`);
  }

  function expectFts5Scores(h: MemoryHarness, found: EntryView[], fts: string): void {
    const exact = fts5Scores(h, "main", fts);
    expect(found.length).toBeGreaterThan(0);
    for (const e of found) expect(e.score as number).toBeCloseTo(exact.get(e.id) as number, 9);
  }

  test("equals FTS5's bm25, and stays equal after stores, deletes and supersedes", async () => {
    const h = await setup();
    seedBoth(h);
    const ctx = contextFor("main");
    const query = { query: "alpha beta", match: "any", limit: 50 };
    expectFts5Scores(h, await search(h, query), '"alpha" OR "beta"');

    const added: number[] = [];
    for (let i = 0; i < 30; i++) added.push(await store(h, `beta ${"alpha ".repeat(i % 4)}fresh ${i}`, ["alpha"]));
    for (const id of added.slice(0, 10)) await h.call("memory_delete", { id }, ctx);
    for (const id of added.slice(10, 20)) {
      await h.call("memory_store", { type: "fact", content: "beta beta beta replaced", supersedes: id }, ctx);
    }
    // Deleted entries are gone, superseded ones hidden; the counts follow the live index.
    const found = await search(h, query);
    const ids = found.map((e) => e.id);
    for (const id of added.slice(0, 20)) expect(ids).not.toContain(id);
    expectFts5Scores(h, found, '"alpha" OR "beta"');
    const replaced = await search(h, { query: "beta replaced", limit: 50 });
    expect(replaced).toHaveLength(10);
    expectFts5Scores(h, replaced, '"beta" "replaced"');
    expectFts5Scores(h, await search(h, { query: "beta alpha" }), '"beta" "alpha"');
  });
});
