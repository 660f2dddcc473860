import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CoreServices, ToolContext } from "@carapace/sdk";
import { generateBrief } from "../../plugins/memory/brief.ts";
import type { EntryType } from "../../plugins/memory/entry-types.ts";
import { MemoryPlugin } from "../../plugins/memory/handler.ts";
import { MEMORY_MIGRATIONS } from "../../plugins/memory/migrations.ts";
import { insertEntry } from "../../plugins/memory/store.ts";
import { closeAll, openGroupDb } from "../../src/storage/group-db.ts";
import { type BenchFigure, median, spreadFigure } from "./figure.ts";

/** A word present in ~30% of rows: the "common term" mix. */
const COMMON_TERM = "project";
const VOCABULARY_SIZE = 20_000;
const WORDS_PER_ENTRY = 10;
const TYPES: EntryType[] = ["preference", "instruction", "correction", "fact", "context"];

/** Deterministic pseudo-random numbers (mulberry32), so every run searches the same data. */
function rng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

const word = (n: number) => `w${n.toString(36)}`;

function services(dataRoot: string): CoreServices {
  return {
    getAuditLog: async () => [],
    getToolCatalog: () => [],
    getSessionInfo: () => null,
    readCredential: async () => null,
    publishEvent: async () => {},
    answerButton: async () => ({ text: "" }),
    dataDir(feature) {
      const dir = join(dataRoot, feature);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      return dir;
    },
    config: () => ({}),
    log: () => {},
  };
}

/** Fills a group's database through the store's real insert path (FTS triggers, tag rows and all). */
function load(dataRoot: string, group: string, entries: number): void {
  const db = openGroupDb({ dataRoot, feature: "memory", group, migrations: MEMORY_MIGRATIONS });
  const next = rng(entries);
  const provenance = { sessionId: "bench-session", group, createdAt: "2026-11-05T12:00:00.000Z" };
  // The real insert path (a savepoint inside the batch); batches of 10k rows only to load 1M in minutes.
  for (let i = 0; i < entries; i++) {
    if (i % 10_000 === 0) {
      if (db.inTransaction) db.exec("COMMIT");
      db.exec("BEGIN");
    }
    const words = Array.from({ length: WORDS_PER_ENTRY }, () => word(next() % VOCABULARY_SIZE));
    if (next() % 10 < 3) words.splice(next() % words.length, 0, COMMON_TERM);
    const type = TYPES[next() % TYPES.length] as EntryType;
    insertEntry(db, { type, content: words.join(" "), tags: [`t${next() % 50}`] }, provenance);
  }
  if (db.inTransaction) db.exec("COMMIT");
}

function percentile(sorted: number[], p: number): number {
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)] ?? 0;
}

/**
 * Wall-clock p50 and p99 of the queries, and the p99 of the process CPU time each took: on a shared
 * machine a wall-clock p99 mostly measures being preempted, the CPU time what a search costs.
 */
async function timeSearches(
  plugin: MemoryPlugin,
  context: ToolContext,
  queries: string[],
): Promise<{ p50: number; p99: number; cpu99: number }> {
  for (const query of queries.slice(0, 20)) await plugin.handleToolInvocation("memory_search", { query }, context);
  const wall: number[] = [];
  const cpu: number[] = [];
  for (const query of queries) {
    const start = performance.now();
    const used = process.cpuUsage();
    await plugin.handleToolInvocation("memory_search", { query }, context);
    const { user, system } = process.cpuUsage(used);
    wall.push(performance.now() - start);
    cpu.push((user + system) / 1000);
  }
  wall.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  return { p50: percentile(wall, 50), p99: percentile(wall, 99), cpu99: percentile(cpu, 99) };
}

const round = (ms: number) => Number(ms.toFixed(3));

/** Median time of generateBrief with the default caps (50 entries, 10,000 characters). */
function briefTime(dataRoot: string, group: string): number {
  const db = openGroupDb({ dataRoot, feature: "memory", group, migrations: MEMORY_MIGRATIONS });
  const runs: number[] = [];
  for (let i = 0; i < 50; i++) {
    const start = performance.now();
    generateBrief(db);
    runs.push(performance.now() - start);
  }
  runs.sort((a, b) => a - b);
  return round(percentile(runs, 50));
}

/**
 * memory_search latency through the handler for a selective term and a term in ~30% of rows, at 1k,
 * 100k and 1M entries (quick: 1k and 10k), in interleaved repetitions (every size and mix once per
 * repetition); each repetition's p50 and p99 over its queries, reported as median with min and max.
 * The 1k figure of the same mix, taken in the same run, is the baseline. Plus brief generation time.
 */
export async function runMemoryBench(opts: { quick: boolean }): Promise<BenchFigure[]> {
  const dataRoot = mkdtempSync(join(tmpdir(), "carapace-memory-bench-"));
  const sizes = opts.quick ? [1_000, 10_000] : [1_000, 100_000, 1_000_000];
  const reps = opts.quick ? 3 : 5;
  const samples = opts.quick ? 100 : 200;
  const figures: BenchFigure[] = [];
  try {
    const plugin = new MemoryPlugin();
    plugin.initialize(services(dataRoot));
    const next = rng(7);
    const mixes: [string, () => string][] = [
      ["selective term", () => word(next() % VOCABULARY_SIZE)],
      ["term in ~30% of rows", () => COMMON_TERM],
    ];
    const label = (size: number) => (size >= 1_000 ? `${size / 1_000}k` : String(size));
    const contexts = new Map<number, ToolContext>();
    for (const size of sizes) {
      const group = `bench-${size}`;
      load(dataRoot, group, size);
      contexts.set(size, {
        group,
        sessionId: "bench",
        correlation: "bench",
        timestamp: new Date().toISOString(),
        source: "bench",
      });
      if (size <= 10_000) {
        figures.push({
          name: `memory brief generation, ${label(size)} entries, p50`,
          value: briefTime(dataRoot, group),
          unit: "ms",
        });
      }
    }
    const results = new Map<string, number[]>();
    const add = (key: string, v: number) => results.set(key, [...(results.get(key) ?? []), v]);
    for (let rep = 0; rep < reps; rep++) {
      for (const size of sizes) {
        for (const [mix, query] of mixes) {
          const queries = Array.from({ length: samples }, query);
          const { p50, p99, cpu99 } = await timeSearches(plugin, contexts.get(size) as ToolContext, queries);
          add(`${mix}|${size}|p50`, p50);
          add(`${mix}|${size}|p99`, p99);
          add(`${mix}|${size}|CPU-time p99`, cpu99);
        }
      }
    }
    const smallest = sizes[0] as number;
    for (const size of sizes) {
      for (const [mix] of mixes) {
        for (const stat of ["p50", "p99", "CPU-time p99"]) {
          const values = results.get(`${mix}|${size}|${stat}`) ?? [];
          const goal = stat === "p99" && size >= 100_000 ? (mix === "selective term" ? "<= 2" : "<= 10") : undefined;
          const name = `memory_search ${mix}, ${label(size)} entries, ${stat}`;
          const base = size === smallest ? undefined : median(results.get(`${mix}|${smallest}|${stat}`) ?? []);
          figures.push(
            spreadFigure(name, values, "ms", 3, {
              ...(base === undefined
                ? {}
                : { baseline: { name: `same, ${label(smallest)} entries`, value: round(base), unit: "ms" } }),
              ...(goal ? { goal } : {}),
            }),
          );
        }
      }
    }
    plugin.shutdown();
    return figures;
  } finally {
    closeAll();
    rmSync(dataRoot, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const started = performance.now();
  const figures = await runMemoryBench({ quick: process.argv.includes("--quick") });
  console.table(figures.map(({ name, value, unit, spread }) => ({ name, value, unit, ...spread })));
  console.log(`took ${((performance.now() - started) / 1000).toFixed(1)} s`);
}
