import type { Database } from "bun:sqlite";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MEMORY_MIGRATIONS } from "../../../plugins/memory/migrations.ts";
import { DELEGATE_ROWS, planRanking, SAMPLE_ROWS } from "../../../plugins/memory/ranking.ts";
import { deleteEntry, insertEntry } from "../../../plugins/memory/store.ts";
import { closeAll, openGroupDb } from "../../../src/storage/group-db.ts";
import { contextFor, type EntryView, entriesOf, type MemoryHarness, memoryHarness } from "./helpers.ts";

let harness: MemoryHarness | undefined;
const roots: string[] = [];
afterEach(() => {
  harness?.cleanup();
  harness = undefined;
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

const QUOTAS = { store_quota: 10_000, supersede_quota: 10_000, delete_quota: 10_000 };
/** Seeding tens of thousands of rows takes a while on a loaded machine. */
const SLOW = 120_000;

/** A plugin over a fresh data folder, holding a copy of `template` (a group file) when given. */
async function setup(template?: string): Promise<MemoryHarness> {
  const root = mkdtempSync(join(tmpdir(), "carapace-memory-rank-"));
  roots.push(root);
  if (template !== undefined) {
    mkdirSync(join(root, "memory"), { recursive: true, mode: 0o700 });
    copyFileSync(template, join(root, "memory", "main.sqlite"));
  }
  harness = await memoryHarness(QUOTAS, {}, root);
  return harness;
}

/** The group's real SQLite file, the connection the plugin uses. */
function groupDb(h: MemoryHarness, group: string): Database {
  return openGroupDb({ dataRoot: h.dataRoot, feature: "memory", group, migrations: MEMORY_MIGRATIONS });
}

/** Older entries written straight into a group's file in one transaction (the store's insert path). */
function seed(db: Database, group: string, count: number, content: (i: number) => string): void {
  const provenance = { sessionId: "seed", group, createdAt: "2026-11-01T00:00:00.000Z" };
  db.transaction(() => {
    for (let i = 0; i < count; i++) insertEntry(db, { type: "fact", content: content(i), tags: [] }, provenance);
  })();
}

/** FTS5's own bm25 (exact document counts, every match) for the same query, by id. */
function fts5Scores(h: MemoryHarness, fts: string): Map<number, number> {
  const rows = groupDb(h, "main")
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
 * Both regimes: few matches (FTS5's bm25 with its exact counts) and a group whose terms are in more
 * rows than FTS5's count may walk (counts sampled and scaled, the plugin scores). Each group starts
 * as a copy of a file seeded once: an old instruction, then background rows with "deploy" and
 * "alpha" in every row and "gamma" in every fourth.
 */
const REGIMES: [string, number][] = [
  ["exact counts", 600],
  ["sampled counts", DELEGATE_ROWS + SAMPLE_ROWS],
];

describe.each(REGIMES)("ranking with %s", (regime, background) => {
  let templateRoot = "";
  let template = "";
  let oldInstruction = 0;
  beforeAll(() => {
    templateRoot = mkdtempSync(join(tmpdir(), "carapace-memory-template-"));
    const db = openGroupDb({ dataRoot: templateRoot, feature: "memory", group: "main", migrations: MEMORY_MIGRATIONS });
    const provenance = { sessionId: "seed", group: "main", createdAt: "2026-10-01T00:00:00.000Z" };
    oldInstruction = insertEntry(
      db,
      { type: "instruction", content: "deploy on fridays never", tags: [] },
      provenance,
    ).id;
    seed(db, "main", background, (i) => `deploy alpha ${i % 4 === 0 ? "gamma " : ""}${FILLER} ${i}`);
    closeAll();
    template = join(templateRoot, "memory", "main.sqlite");
  }, SLOW);
  afterAll(() => rmSync(templateRoot, { recursive: true, force: true }));

  test(
    "a better-scored match outranks a worse one, and content weighs twice the tags",
    async () => {
      const h = await setup(template);
      const better = await store(h, "deploy deploy checklist");
      const worse = await store(h, `deploy checklist ${FILLER}`);
      const inContent = await store(h, "release deploy notes");
      // Same length as inContent and newer: with equal weights the tie would put it first.
      const inTags = await store(h, "release notes", ["deploy"]);
      expect(planRanking(groupDb(h, "main"), ["deploy"], "all").delegate).toBe(regime === "exact counts");
      const found = await search(h, { query: "deploy", limit: 50 });
      const rank = (id: number) => found.findIndex((e) => e.id === id);
      for (const id of [better, worse, inContent, inTags]) expect(rank(id)).toBeGreaterThanOrEqual(0);
      expect(rank(better)).toBeLessThan(rank(worse));
      expect(rank(better)).toBeLessThan(rank(inContent));
      expect(rank(inContent)).toBeLessThan(rank(inTags));
      const scores = found.map((e) => e.score as number);
      expect([...scores].sort((a, b) => a - b)).toEqual(scores);
      // Sampled or exact, the scores stay close to FTS5's exact bm25.
      const exact = fts5Scores(h, '"deploy"');
      for (const e of found) expect(Math.abs((e.score as number) / (exact.get(e.id) as number) - 1)).toBeLessThan(0.05);
    },
    SLOW,
  );

  test(
    "with several terms, a match of the rarer term outranks a match of the common one",
    async () => {
      const h = await setup(template);
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
      const h = await setup(template);
      const found = await search(h, { query: "deploy", types: ["instruction"], limit: 5 });
      expect(found.map((e) => e.id)).toEqual([oldInstruction]);
      expect((await search(h, { query: "deploy", limit: 50 })).map((e) => e.id)).not.toContain(oldInstruction);
    },
    SLOW,
  );

  test("a group too small for the counts to matter is not counted", async () => {
    const h = await setup(template);
    const plan = planRanking(groupDb(h, "main"), ["gamma"], "all");
    expect(plan.delegate).toBe(true);
    expect(plan.counts).toEqual(regime === "exact counts" ? [] : [expect.any(Number)]);
  });

  // Counting happens only in groups past the budget.
  test.skipIf(regime === "exact counts")(
    "document counts follow the live index after deletes",
    async () => {
      const h = await setup(template);
      const db = groupDb(h, "main");
      // With a second term the group stays past the budget after the deletes, so it is counted.
      const count = (term: string) => planRanking(db, [term, "fridays"], "any").counts[0] as number;
      const gammaRows = () =>
        db.query<{ n: number }, []>(`SELECT count(*) AS n FROM entries_fts WHERE entries_fts MATCH '"gamma"'`).get()
          ?.n ?? 0;
      const close = (estimate: number, exact: number) => expect(Math.abs(estimate / exact - 1)).toBeLessThan(0.1);
      close(count("gamma"), gammaRows());
      close(count("alpha"), background);
      // Every other gamma row goes, through the store's delete path.
      const gammaIds = db
        .query<{ id: number }, []>(`SELECT rowid AS id FROM entries_fts WHERE entries_fts MATCH '"gamma"'`)
        .all()
        .map((r) => r.id);
      db.transaction(() => {
        gammaIds.forEach((id, i) => {
          if (i % 2 === 0) expect(deleteEntry(db, "main", id)).toBe(true);
        });
      })();
      expect(gammaRows()).toBe(Math.floor(gammaIds.length / 2));
      close(count("gamma"), gammaRows());
      close(count("alpha"), background - Math.ceil(gammaIds.length / 2));
      expect(count("fridays")).toBe(1);
    },
    SLOW,
  );
});

describe("the plugin's bm25 with exact counts", () => {
  const TERMS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "mu", "nu"];
  /** As the query spells it, capitalized, or (epsilon) accented: FTS5 folds case and diacritics. */
  const spelling = (term: string, n: number) =>
    n % 3 === 0
      ? term
      : n % 3 === 1
        ? `${term.charAt(0).toUpperCase()}${term.slice(1)}`
        : term.replace("epsilon", "Épsilon");
  /** Twelve terms in every row of a small index: more matches than FTS5's count may walk, all counted exactly. */
  function seedCommon(h: MemoryHarness): void {
    const rows = Math.min(SAMPLE_ROWS, Math.ceil(DELEGATE_ROWS / TERMS.length) + 300);
    seed(groupDb(h, "main"), "main", rows, (i) =>
      [
        ...TERMS.map((t, j) => `${spelling(t, i + j)} `.repeat(1 + ((i + j) % 3))),
        "other ".repeat(i % 5),
        `row${i % 7}`,
      ].join(""),
    );
  }

  function expectFts5Scores(h: MemoryHarness, found: EntryView[], fts: string): void {
    const exact = fts5Scores(h, fts);
    expect(found.length).toBeGreaterThan(0);
    for (const e of found) expect(e.score as number).toBeCloseTo(exact.get(e.id) as number, 9);
  }

  test(
    "equals FTS5's bm25, and stays equal after stores, deletes and supersedes",
    async () => {
      const h = await setup();
      seedCommon(h);
      const ctx = contextFor("main");
      const query = { query: TERMS.join(" "), match: "any", limit: 50 };
      const fts = TERMS.map((t) => `"${t}"`).join(" OR ");
      expect(planRanking(groupDb(h, "main"), TERMS, "any").delegate).toBe(false);
      expectFts5Scores(h, await search(h, query), fts);

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
      expectFts5Scores(h, found, fts);
      const replaced = await search(h, { query: "beta replaced", limit: 50 });
      expect(replaced).toHaveLength(10);
      expectFts5Scores(h, replaced, '"beta" "replaced"');
      expectFts5Scores(h, await search(h, { query: TERMS.join(" ") }), TERMS.map((t) => `"${t}"`).join(" "));
    },
    SLOW,
  );
});
