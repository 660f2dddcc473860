import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { type AuditRecord, GENESIS_HASH, recordHash } from "../../src/core/response/audit-record.ts";
import { CARAPACE_BIN, ensureBinaries } from "../harness/binaries.ts";
import { startCore, tempHome } from "../harness/core.ts";
import { type BenchFigure, median, spreadFigure } from "./figure.ts";

/**
 * `audit verify` over logs of 100k and 1M records (time, and peak memory of the process: it streams,
 * so memory stays flat while time grows linearly), and the core's RSS under a 20-session load.
 */

const FILE_BYTES = 10 * 1024 * 1024;

/** A valid chained log of `n` records in rotated 10 MiB files, as the core writes them. */
function writeLog(home: string, n: number): void {
  const dir = join(home, "data", "audit");
  mkdirSync(dir, { recursive: true });
  let prev = GENESIS_HASH;
  let rotation = 1;
  let fd = openSync(join(dir, `bench.${rotation}.jsonl`), "w");
  let size = 0;
  let chunk: string[] = [];
  const flush = () => {
    const text = chunk.join("");
    writeSync(fd, text);
    size += Buffer.byteLength(text);
    chunk = [];
  };
  for (let seq = 1; seq <= n; seq++) {
    const base = {
      seq,
      ts: new Date(1_700_000_000_000 + seq).toISOString(),
      group: "bench",
      session: "4f1c2a9ebench",
      kind: "routed",
      topic: "tool.invoke.hello.echo",
      correlation: `00000000-0000-4000-8000-${String(seq).padStart(12, "0")}`,
      outcome: "ok",
      stage: 6,
      prev,
    } as Omit<AuditRecord, "hash">;
    const record = { ...base, hash: recordHash(base) };
    prev = record.hash;
    chunk.push(`${JSON.stringify(record)}\n`);
    if (chunk.length >= 2000) {
      flush();
      if (size > FILE_BYTES && seq < n) {
        closeSync(fd);
        rotation++;
        fd = openSync(join(dir, `bench.${rotation}.jsonl`), "w");
        size = 0;
      }
    }
  }
  flush();
  closeSync(fd);
  // The newest file is the live one.
  const live = join(dir, "bench.jsonl");
  Bun.spawnSync(["mv", join(dir, `bench.${rotation}.jsonl`), live]);
  writeFileSync(join(dir, "bench.head"), `${JSON.stringify({ seq: n, hash: prev, file: "bench.jsonl" })}\n`);
}

function peakRssOf(pid: number): number {
  try {
    const line = readFileSync(`/proc/${pid}/status`, "utf8")
      .split("\n")
      .find((l) => l.startsWith("VmHWM:"));
    return Number(line?.match(/(\d+)/)?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

async function timeVerify(home: string): Promise<{ seconds: number; peakMiB: number; ok: boolean }> {
  const start = performance.now();
  const proc = Bun.spawn([CARAPACE_BIN, "audit", "verify", "--group", "bench"], {
    env: { PATH: "/usr/bin:/bin", HOME: home, CARAPACE_HOME: home, NO_COLOR: "1" },
    stdout: "pipe",
    stderr: "pipe",
  });
  let peak = 0;
  while (proc.exitCode === null) {
    peak = Math.max(peak, peakRssOf(proc.pid));
    await Bun.sleep(10);
  }
  const out = await new Response(proc.stdout as ReadableStream).text();
  return { seconds: (performance.now() - start) / 1000, peakMiB: Math.round(peak / 1048576), ok: out.includes("ok") };
}

async function coreRssUnderLoad(seconds: number): Promise<{ rssMiB: number; calls: number }> {
  const config = "[security]\nrate_limit_per_minute = 600000\nrate_limit_burst = 10000\nmax_sessions_per_group = 4\n";
  const core = await startCore({ config });
  const { ipc } = ensureBinaries();
  try {
    const sessions = [];
    for (let g = 0; g < 5; g++) for (let s = 0; s < 4; s++) sessions.push(await core.openSession(`load-${g}`));
    const until = Date.now() + seconds * 1000;
    const loaders = sessions.map((s) =>
      Bun.spawn(
        [
          "bash",
          "-c",
          `n=0; while [ $(date +%s%3N) -lt ${until} ]; do "${ipc}" hello.echo '{"message":"load"}' >/dev/null 2>&1; n=$((n+1)); done; echo $n`,
        ],
        { env: { ...core.env, CARAPACE_SOCKET: s.socket }, stdout: "pipe", stderr: "ignore" },
      ),
    );
    let peak = 0;
    while (Date.now() < until) {
      peak = Math.max(peak, peakRssOf(core.proc.pid));
      await Bun.sleep(200);
    }
    let calls = 0;
    for (const l of loaders) calls += Number((await new Response(l.stdout as ReadableStream).text()).trim()) || 0;
    return { rssMiB: Math.round(peak / 1048576), calls };
  } finally {
    await core.stop();
  }
}

export async function runReliabilityBench(opts: { quick: boolean }): Promise<BenchFigure[]> {
  ensureBinaries();
  const figures: BenchFigure[] = [];
  const sizes = opts.quick ? [100_000] : [100_000, 1_000_000];
  const reps = opts.quick ? 2 : 5;
  const homes = sizes.map((n) => {
    const home = tempHome();
    writeLog(home, n);
    return home;
  });
  const seconds = new Map<number, number[]>();
  const peaks = new Map<number, number[]>();
  const add = (m: Map<number, number[]>, n: number, v: number) => m.set(n, [...(m.get(n) ?? []), v]);
  try {
    // Interleaved: every size once per repetition.
    for (let rep = 0; rep < reps; rep++) {
      for (const [i, n] of sizes.entries()) {
        const r = await timeVerify(homes[i] as string);
        if (!r.ok) throw new Error(`audit verify did not pass on the generated ${n}-record log`);
        add(seconds, n, r.seconds);
        add(peaks, n, r.peakMiB);
      }
    }
  } finally {
    for (const home of homes) rmSync(home, { recursive: true, force: true });
  }
  for (const n of sizes) {
    figures.push(spreadFigure(`audit verify, ${n} records: time`, seconds.get(n) ?? [], "s", 2));
    figures.push(
      spreadFigure(`audit verify, ${n} records: peak memory (VmHWM)`, peaks.get(n) ?? [], "MiB", 0, {
        goal: n === 1_000_000 ? "< 100 MB (95 MiB), flat in the record count" : "flat in the record count",
      }),
    );
  }
  if (sizes.length === 2) {
    const small = seconds.get(100_000) ?? [];
    const ratios = (seconds.get(1_000_000) ?? []).map((t, i) => t / (small[i] ?? Number.NaN));
    figures.push(
      spreadFigure("audit verify time, 1M / 100k records", ratios.filter(Number.isFinite), "ratio", 2, {
        baseline: { name: "audit verify, 100k records", value: Number(median(small).toFixed(2)), unit: "s" },
        goal: "~10 (linear)",
      }),
    );
  }
  const load = await coreRssUnderLoad(opts.quick ? 5 : 20);
  figures.push({ name: "core peak RSS, 20 sessions calling in a loop", value: load.rssMiB, unit: "MiB" });
  figures.push({ name: "calls answered during that load", value: load.calls, unit: "calls" });
  return figures;
}

if (import.meta.main) console.log(await runReliabilityBench({ quick: process.argv.includes("--quick") }));
