import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AuditLog } from "../../src/core/response/audit-log.ts";
import type { AuditEntry } from "../../src/core/response/audit-record.ts";

export interface BenchFigure {
  name: string;
  value: number;
  unit: string;
  /** The same-run figure this one is compared to. */
  baseline?: { name: string; value: number; unit: string };
}

function sampleEntry(i: number): AuditEntry {
  return {
    kind: "routed",
    outcome: "ok",
    group: "bench",
    session: "4f1c2a9e-bench-session",
    topic: "tool.invoke.hello.echo",
    correlation: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
    detail: { duration_ms: 3, sanitized_paths: [] },
  };
}

/** Many callers appending at once, as under load: records share batches (one fdatasync per batch). */
async function batchedRate(home: string, records: number): Promise<number> {
  const log = new AuditLog(home);
  const start = performance.now();
  const inFlight = 64;
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < records) await log.append(sampleEntry(next++));
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  await log.close();
  return records / seconds;
}

/** The naive design: every record written and fdatasynced on its own. */
async function perRecordRate(home: string, records: number): Promise<number> {
  const log = new AuditLog(home, { maxBatch: 1 });
  const start = performance.now();
  for (let i = 0; i < records; i++) await log.append(sampleEntry(i));
  const seconds = (performance.now() - start) / 1000;
  await log.close();
  return records / seconds;
}

/** Audit append throughput: grouped commits versus an fsync per record, same run, same disk. */
export async function runAuditBench(opts: { quick: boolean }): Promise<BenchFigure[]> {
  const home = mkdtempSync(join(tmpdir(), "carapace-audit-bench-"));
  try {
    const perRecord = await perRecordRate(join(home, "single"), opts.quick ? 200 : 2_000);
    const batched = await batchedRate(join(home, "batched"), opts.quick ? 5_000 : 50_000);
    const baseline = { name: "audit append, fsync per record", value: Math.round(perRecord), unit: "records/s" };
    return [
      baseline,
      {
        name: "audit append, grouped commits (64 concurrent callers)",
        value: Math.round(batched),
        unit: "records/s",
        baseline,
      },
      {
        name: "audit append, grouped vs per-record",
        value: Number((batched / perRecord).toFixed(2)),
        unit: "x",
        baseline,
      },
    ];
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const figures = await runAuditBench({ quick: process.argv.includes("--quick") });
  console.table(figures.map(({ name, value, unit }) => ({ name, value, unit })));
}
