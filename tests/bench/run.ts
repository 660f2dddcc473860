/**
 * `bun run bench [--quick]`: runs every benchmark, prints one table, writes bench-results/latest.json.
 * Goals are compared by people; nothing here fails on a figure.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BenchFigure } from "./figure.ts";

const quick = process.argv.includes("--quick");
const suites: [string, () => Promise<BenchFigure[]>][] = [
  ["baselines", async () => (await import("./baselines.bench.ts")).runBaselineBench({ quick })],
  ["core", async () => (await import("./core.bench.ts")).runCoreBench({ quick })],
  ["plugin", async () => (await import("./plugin.bench.ts")).runPluginBench({ quick })],
  ["mcp", async () => (await import("./mcp.bench.ts")).runMcpBench({ quick })],

  ["transport", async () => (await import("./transport.bench.ts")).runTransportBench({ quick })],
  ["audit", async () => (await import("./audit.bench.ts")).runAuditBench({ quick })],
  ["reliability", async () => (await import("./reliability.bench.ts")).runReliabilityBench({ quick })],
  ["agent", async () => (await import("./agent.bench.ts")).runAgentBench({ quick })],
  ["prestart", async () => (await import("./agent.bench.ts")).runPrestartBench({ quick })],
  ["memory", async () => (await import("./memory.bench.ts")).runMemoryBench({ quick })],
];

const results: Record<string, BenchFigure[] | { error: string }> = {};
for (const [name, run] of suites) {
  process.stderr.write(`[BENCH] ${name} ...\n`);
  try {
    results[name] = await run();
  } catch (e) {
    results[name] = { error: (e as Error).message };
  }
}

const rows: string[] = [];
for (const [suite, figures] of Object.entries(results)) {
  if (!Array.isArray(figures)) {
    rows.push(`${suite.padEnd(10)} ERROR ${figures.error}`);
    continue;
  }
  for (const f of figures) {
    const base = f.baseline ? `  (baseline ${f.baseline.name}: ${f.baseline.value} ${f.baseline.unit})` : "";
    const goal = f.goal ? `  goal ${f.goal}` : "";
    const range = f.spread ? `  [min ${f.spread.min}, max ${f.spread.max}, n=${f.spread.n}]` : "";
    rows.push(
      `${suite.padEnd(10)} ${f.name.padEnd(72)} ${String(f.value).padStart(12)} ${f.unit}${range}${base}${goal}`,
    );
  }
}
if (quick) rows.unshift("quick mode: fewer repetitions and shorter windows than a full run (n= on each figure)");
console.log(rows.join("\n"));
const out = join(import.meta.dir, "../../bench-results");
mkdirSync(out, { recursive: true });
const file = join(out, "latest.json");
writeFileSync(
  file,
  `${JSON.stringify({ quick, date: new Date().toISOString(), machine: { cpus: navigator.hardwareConcurrency, platform: process.platform, arch: process.arch }, results }, null, 2)}\n`,
);
console.log(`\nwritten to ${file}`);
