import { mkdtempSync, rmSync } from "node:fs";
import { writeCredential } from "../../src/config/credentials.ts";
import { ensureHome } from "../../src/config/home.ts";
import { CoreServer } from "../../src/core/server.ts";
import { DEFAULT_LIMITS } from "../../src/protocol/limits.ts";
import { DealerSocket, RouterSocket } from "../../src/transport/sockets.ts";
import { ensureBinaries } from "../harness/binaries.ts";
import { startCore } from "../harness/core.ts";
import { type BenchFigure, cpuMs, median } from "./figure.ts";

const decoder = new TextDecoder();

/** Round trips/s with `concurrency` requests kept in flight for `ms`, replies matched by correlation. */
export async function roundTrips(
  endpoint: string,
  concurrency: number,
  ms: number,
  body: (c: string) => string,
): Promise<number> {
  let done = 0;
  const deadline = performance.now() + ms;
  const finished = Promise.withResolvers<void>();
  let inflight = 0;
  const dealer = new DealerSocket(endpoint, (frames) => {
    const reply = JSON.parse(decoder.decode(frames[0])) as { kind?: string };
    if (reply.kind === "heartbeat") return;
    done++;
    inflight--;
    if (performance.now() < deadline) send();
    else if (inflight === 0) finished.resolve();
  });
  const send = () => {
    inflight++;
    dealer.send([body(crypto.randomUUID())]);
  };
  const t0 = performance.now();
  for (let i = 0; i < concurrency; i++) send();
  await finished.promise;
  const rate = done / ((performance.now() - t0) / 1000);
  dealer.close();
  return rate;
}

export async function runCoreBench(opts: { quick: boolean }): Promise<BenchFigure[]> {
  const figures: BenchFigure[] = [];
  const ms = opts.quick ? 1000 : 3000;
  const msg = (c: string) =>
    JSON.stringify({ topic: "tool.invoke.hello.echo", correlation: c, arguments: { message: "x".repeat(120) } });

  // Baseline: a reactor ROUTER echo in this process and JS thread (not raw libzmq: the separate-process
  // baselines are in baselines.bench.ts).
  const dir = mkdtempSync("/tmp/cpbench-");
  const raw = new RouterSocket(`ipc://${dir}/raw.sock`, (id, frames) => {
    const parsed = JSON.parse(decoder.decode(frames[1])) as { correlation: string };
    raw.send(id, ["", JSON.stringify({ kind: "result", correlation: parsed.correlation, result: {} })]);
  });
  const home = mkdtempSync("/tmp/cpbh-");
  ensureHome(home);
  // Stored secrets, as a configured home has them: every reply is also scanned for their forms.
  writeCredential(home, "anthropic_api_key", "sk-ant-api03-bench0000000000000000000000000000000000");
  writeCredential(home, "service_token", "Zq8vN2pL/x7+WkR4tY=9hB");
  const server = new CoreServer({
    home,
    limits: () => ({ ...DEFAULT_LIMITS, rateLimitPerMinute: 1e9, rateLimitBurst: 1e9, maxInflightPerSession: 1000 }),
    helloEnabled: true,
  });
  await server.start();
  const session = server.openSession("bench", "bench");
  for (const concurrency of [1, 16]) {
    const baseline = await roundTrips(`ipc://${dir}/raw.sock`, concurrency, ms, msg);
    const full = await roundTrips(`ipc://${session.socketPath}`, concurrency, ms, msg);
    figures.push({
      name: `in-process reactor echo, same JS thread as the client (${concurrency} in flight)`,
      value: Math.round(baseline),
      unit: "rt/s",
    });
    figures.push({
      name: `full pipeline tool.invoke round trips (${concurrency} in flight)`,
      value: Math.round(full),
      unit: "rt/s",
    });
    figures.push({
      name: `full pipeline / in-process reactor echo (${concurrency} in flight)`,
      value: Number((full / baseline).toFixed(3)),
      unit: "ratio",
      baseline: { name: "in-process reactor echo", value: Math.round(baseline), unit: "rt/s" },
      goal: ">= 0.5",
    });
  }
  raw.close();

  // Rate limiter accuracy at the boundary under concurrent load: admitted vs burst + rate × elapsed.
  const rateHome = mkdtempSync("/tmp/cpbr-");
  ensureHome(rateHome);
  const limited = new CoreServer({
    home: rateHome,
    limits: () => ({ ...DEFAULT_LIMITS, rateLimitPerMinute: 6000, rateLimitBurst: 50, maxInflightPerSession: 1000 }),
    helloEnabled: true,
  });
  await limited.start();
  const ls = limited.openSession("rate", "bench");
  let admitted = 0;
  let refused = 0;
  const started = Date.now();
  const floodMs = opts.quick ? 1500 : 4000;
  await Promise.all(
    [0, 1, 2, 3].map(
      () =>
        new Promise<void>((resolve) => {
          const d = new DealerSocket(`ipc://${ls.socketPath}`, (frames) => {
            const r = JSON.parse(decoder.decode(frames[0])) as { kind: string };
            if (r.kind === "heartbeat") return;
            if (r.kind === "result") admitted++;
            else refused++;
            if (Date.now() - started < floodMs) d.send([msg(crypto.randomUUID())]);
            else {
              d.close();
              resolve();
            }
          });
          for (let i = 0; i < 4; i++) d.send([msg(crypto.randomUUID())]);
        }),
    ),
  );
  const elapsed = (Date.now() - started) / 1000;
  const expected = 50 + (6000 / 60) * elapsed;
  figures.push({
    name: "rate limiter: admitted / (burst + rate × elapsed) under 16-way flood",
    value: Number((admitted / expected).toFixed(4)),
    unit: "ratio",
    baseline: { name: "expected admissions", value: Number(expected.toFixed(1)), unit: "calls" },
    goal: "within ±1% (1.00 ± 0.01)",
  });
  figures.push({ name: "rate limiter: refused during flood", value: refused, unit: "calls" });
  await limited.stop();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
  rmSync(home, { recursive: true, force: true });
  rmSync(rateHome, { recursive: true, force: true });

  // One ipc process call vs `node -e 0`, and idle CPU of the compiled core.
  const bins = ensureBinaries();
  const core = await startCore();
  try {
    const s = await core.openSession("bench");
    const runs = opts.quick ? 10 : 30;
    const ipcTimes: number[] = [];
    const nodeTimes: number[] = [];
    for (let i = 0; i < runs; i++) {
      let t = performance.now();
      Bun.spawnSync([bins.ipc, "hello.echo", '{"message":"hi"}'], { env: { CARAPACE_SOCKET: s.socket } });
      ipcTimes.push(performance.now() - t);
      t = performance.now();
      Bun.spawnSync(["node", "-e", "0"]);
      nodeTimes.push(performance.now() - t);
    }
    const ipcMedian = median(ipcTimes);
    const nodeMedian = median(nodeTimes);
    figures.push({
      name: "one ipc process call (spawn → answer), median",
      value: Number(ipcMedian.toFixed(2)),
      unit: "ms",
    });
    figures.push({
      name: "ipc process call / node -e 0",
      value: Number((ipcMedian / nodeMedian).toFixed(3)),
      unit: "ratio",
      baseline: { name: "node -e 0, median", value: Number(nodeMedian.toFixed(2)), unit: "ms" },
      goal: "<= 0.3",
    });
    const idleMs = opts.quick ? 3000 : 10000;
    await Bun.sleep(500);
    const before = cpuMs(core.proc.pid);
    await Bun.sleep(idleMs);
    const used = cpuMs(core.proc.pid) - before;
    figures.push({
      name: `idle core CPU over ${idleMs / 1000} s (one open session)`,
      value: Number((used / (idleMs / 1000)).toFixed(2)),
      unit: "ms CPU per s",
      goal: "~0 (1000 would be one full core)",
    });
  } finally {
    await core.stop();
  }
  return figures;
}
