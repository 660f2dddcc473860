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

export interface BenchFigure {
  name: string;
  value: number;
  unit: string;
  /** The same-run figure this one is compared to. */
  baseline?: { name: string; value: number; unit: string };
}

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
  for (let i = 0; i < entries; i++) {
    const words = Array.from({ length: WORDS_PER_ENTRY }, () => word(next() % VOCABULARY_SIZE));
    if (next() % 10 < 3) words.splice(next() % words.length, 0, COMMON_TERM);
    const type = TYPES[next() % TYPES.length] as EntryType;
    insertEntry(db, { type, content: words.join(" "), tags: [`t${next() % 50}`] }, provenance);
  }
}

function percentile(sorted: number[], p: number): number {
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)] ?? 0;
}

async function timeSearches(
  plugin: MemoryPlugin,
  context: ToolContext,
  queries: string[],
): Promise<{ p50: number; p99: number }> {
  for (const query of queries.slice(0, 20)) await plugin.handleToolInvocation("memory_search", { query }, context);
  const samples: number[] = [];
  for (const query of queries) {
    const start = performance.now();
    await plugin.handleToolInvocation("memory_search", { query }, context);
    samples.push(performance.now() - start);
  }
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 50), p99: percentile(samples, 99) };
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
 * memory_search latency through the handler at 1k/10k/100k/1M entries (quick: 1k/10k) for selective
 * terms and for a term in ~30% of rows, plus brief generation time at 10k entries.
 */
export async function runMemoryBench(opts: { quick: boolean }): Promise<BenchFigure[]> {
  const dataRoot = mkdtempSync(join(tmpdir(), "carapace-memory-bench-"));
  const sizes = opts.quick ? [1_000, 10_000] : [1_000, 10_000, 100_000, 1_000_000];
  const samples = opts.quick ? 200 : 1_000;
  const figures: BenchFigure[] = [];
  try {
    const plugin = new MemoryPlugin();
    plugin.initialize(services(dataRoot));
    const next = rng(7);
    const selective = Array.from({ length: samples }, () => word(next() % VOCABULARY_SIZE));
    const common = Array.from({ length: samples }, () => COMMON_TERM);
    const smallest: Record<string, BenchFigure> = {};
    let briefBaseline: BenchFigure["baseline"];
    for (const size of sizes) {
      const group = `bench-${size}`;
      load(dataRoot, group, size);
      const context: ToolContext = {
        group,
        sessionId: "bench",
        correlation: "bench",
        timestamp: new Date().toISOString(),
        source: "bench",
      };
      const label = size >= 1_000 ? `${size / 1_000}k` : String(size);
      const mixes: [string, string[]][] = [
        ["selective term", selective],
        ["term in ~30% of rows", common],
      ];
      const selectiveAtSize: Record<string, BenchFigure> = {};
      for (const [mix, queries] of mixes) {
        const { p50, p99 } = await timeSearches(plugin, context, queries);
        for (const [stat, value] of [
          ["p50", p50],
          ["p99", p99],
        ] as const) {
          const key = `${mix} ${stat}`;
          const figure: BenchFigure = {
            name: `memory_search ${mix}, ${label} entries, ${stat}`,
            value: round(value),
            unit: "ms",
          };
          // Larger sizes compare to the 1k figure; the common-term mix also compares to the selective one.
          const baseline = mix === "selective term" ? smallest[key] : selectiveAtSize[stat];
          if (baseline && baseline !== figure)
            figure.baseline = { name: baseline.name, value: baseline.value, unit: baseline.unit };
          if (mix === "selective term") selectiveAtSize[stat] = figure;
          smallest[key] ??= figure;
          figures.push(figure);
        }
      }
      if (size === 1_000 || size === 10_000) {
        const figure: BenchFigure = {
          name: `memory brief generation, ${label} entries, p50`,
          value: briefTime(dataRoot, group),
          unit: "ms",
        };
        if (briefBaseline) figure.baseline = briefBaseline;
        briefBaseline ??= { name: figure.name, value: figure.value, unit: figure.unit };
        figures.push(figure);
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
  console.table(
    figures.map(({ name, value, unit, baseline }) => ({ name, value, unit, baseline: baseline?.name ?? "" })),
  );
  console.log(`took ${((performance.now() - started) / 1000).toFixed(1)} s`);
}
