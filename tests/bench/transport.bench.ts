/**
 * Transport figures, all in one process: libzmq ROUTER/DEALER over FFI with client and server on one thread
 * (the separate-process baselines are in baselines.bench.ts), the same through the reactor-driven sockets, and
 * the idle CPU of a process holding sockets open.
 */

import { ptr } from "bun:ffi";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { libzmq, ZMQ } from "../../src/transport/libzmq.ts";
import { ZmqSocket } from "../../src/transport/socket.ts";
import { DealerSocket, RouterSocket } from "../../src/transport/sockets.ts";
import { type BenchFigure, cpuMs } from "./figure.ts";

// ~200 bytes of JSON, the size of a typical tool call.
const PAYLOAD = JSON.stringify({
  topic: "tool.invoke.hello.echo",
  correlation: "6f1c2a9e-0000-4000-8000-000000000001",
  arguments: { message: "x".repeat(110) },
});

/** zmq_poll over raw sockets; returns the indexes of the readable ones. */
function pollIn(sockets: ZmqSocket[], timeoutMs: number): number[] {
  const items = new ArrayBuffer(16 * sockets.length); // zmq_pollitem_t: socket*, fd, short events, short revents
  const view = new DataView(items);
  sockets.forEach((s, i) => {
    view.setBigUint64(i * 16, s.pollHandle(), true);
    view.setInt16(i * 16 + 12, ZMQ.POLLIN, true);
  });
  libzmq().zmq_poll(ptr(new Uint8Array(items)), sockets.length, timeoutMs);
  return sockets.flatMap((_, i) => (view.getInt16(i * 16 + 14, true) & ZMQ.POLLIN ? [i] : []));
}

/**
 * Raw FFI, one thread, no event loop: `dealers` DEALERs each keep one request in flight to one ROUTER.
 * "spin" re-tries non-blocking receives (the fastest libzmq allows, a core busy); "poll" blocks in zmq_poll.
 */
function rawRoundTrips(dir: string, dealers: number, ms: number, wait: "spin" | "poll"): number {
  const endpoint = `ipc://${dir}/raw-${wait}-${dealers}.sock`;
  const router = new ZmqSocket("ROUTER");
  router.bind(endpoint);
  const clients = Array.from({ length: dealers }, () => {
    const d = new ZmqSocket("DEALER");
    d.connect(endpoint);
    return d;
  });
  const all = [router, ...clients];
  let done = 0;
  try {
    for (const c of clients) c.trySend(["", PAYLOAD]);
    const start = performance.now();
    const deadline = start + ms;
    while (performance.now() < deadline) {
      const ready = wait === "poll" ? pollIn(all, 1000) : all.map((_, i) => i);
      for (const i of ready) {
        const socket = all[i] as ZmqSocket;
        for (let msg = socket.tryRecv(); msg; msg = socket.tryRecv()) {
          if (i === 0) router.trySend(msg.frames);
          else {
            done++;
            socket.trySend(["", PAYLOAD]);
          }
        }
      }
    }
    return done / ((performance.now() - start) / 1000);
  } finally {
    for (const s of all) s.close();
  }
}

/** The event-loop sockets (Reactor, queued sends), same shape of load as rawRoundTrips. */
async function reactorRoundTrips(dir: string, dealers: number, ms: number): Promise<number> {
  const endpoint = `ipc://${dir}/loop-${dealers}.sock`;
  const router: RouterSocket = new RouterSocket(endpoint, (identity, frames) => router.send(identity, frames));
  let done = 0;
  let running = dealers;
  const finished = Promise.withResolvers<void>();
  const start = performance.now();
  const deadline = start + ms;
  const clients: DealerSocket[] = [];
  for (let i = 0; i < dealers; i++) {
    const client: DealerSocket = new DealerSocket(endpoint, () => {
      done++;
      if (performance.now() < deadline) client.send([PAYLOAD]);
      else if (--running === 0) finished.resolve();
    });
    clients.push(client);
  }
  for (const c of clients) c.send([PAYLOAD]);
  await finished.promise;
  const rate = done / ((performance.now() - start) / 1000);
  for (const c of clients) c.close();
  router.close();
  return rate;
}

/**
 * CPU (user + system, all threads) of an idle child bun process that holds a ROUTER and a PUB open, or
 * with `bare` none: the runtime's own idle cost, for comparison.
 */
async function idleCpuMsPerSecond(dir: string, ms: number, bare: boolean): Promise<number> {
  const fixture = join(import.meta.dir, "../transport/fixtures/idle-holder.ts");
  const child = Bun.spawn([process.execPath, fixture, dir, ...(bare ? ["--bare"] : [])], {
    stdin: "pipe",
    stdout: "pipe",
    stderr: "inherit",
  });
  try {
    const reader = child.stdout.getReader();
    const first = await reader.read();
    if (!new TextDecoder().decode(first.value).includes("ready")) {
      throw new Error("[BENCH] Error: the idle child did not start. Fix: run it by hand to see why.");
    }
    const before = cpuMs(child.pid);
    await Bun.sleep(ms);
    const after = cpuMs(child.pid);
    return (after - before) / (ms / 1000);
  } finally {
    child.stdin.end();
    child.kill();
    await child.exited;
  }
}

export async function runTransportBench(opts: { quick: boolean }): Promise<BenchFigure[]> {
  const dir = mkdtempSync(join(tmpdir(), "cp-tbench-"));
  const ms = opts.quick ? 1000 : 3000;
  try {
    const round = (n: number) => Math.round(n);
    const rawSeq = round(rawRoundTrips(dir, 1, ms, "poll"));
    const rawPar = round(rawRoundTrips(dir, 8, ms, "poll"));
    const spinSeq = round(rawRoundTrips(dir, 1, ms, "spin"));
    const loopSeq = round(await reactorRoundTrips(dir, 1, ms));
    const loopPar = round(await reactorRoundTrips(dir, 8, ms));
    const idleMs = opts.quick ? 2000 : 10_000;
    const idleBare = await idleCpuMsPerSecond(dir, idleMs, true);
    const idle = await idleCpuMsPerSecond(dir, idleMs, false);
    const rawSeqFigure = {
      name: "in-process libzmq over FFI, client and server on one thread, sequential (zmq_poll)",
      value: rawSeq,
      unit: "round trips/s",
    };
    const rawParFigure = {
      name: "in-process libzmq over FFI, client and server on one thread, 8 concurrent dealers (zmq_poll)",
      value: rawPar,
      unit: "round trips/s",
    };
    const bareFigure = {
      name: `idle CPU of a bun process with no sockets (${idleMs / 1000} s)`,
      value: Number(idleBare.toFixed(2)),
      unit: "ms CPU/s",
    };
    return [
      rawSeqFigure,
      rawParFigure,
      {
        name: "in-process libzmq over FFI, client and server on one thread, sequential (busy-poll)",
        value: spinSeq,
        unit: "round trips/s",
        baseline: rawSeqFigure,
      },
      {
        name: "in-process transport (reactor) ROUTER/DEALER, sequential",
        value: loopSeq,
        unit: "round trips/s",
        baseline: rawSeqFigure,
      },
      {
        name: "in-process transport (reactor) ROUTER/DEALER, 8 concurrent dealers",
        value: loopPar,
        unit: "round trips/s",
        baseline: rawParFigure,
      },
      bareFigure,
      {
        name: `idle CPU of a process holding a ROUTER and a PUB (${idleMs / 1000} s)`,
        value: Number(idle.toFixed(2)),
        unit: "ms CPU/s",
        baseline: bareFigure,
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const figures = await runTransportBench({ quick: process.argv.includes("--quick") });
  console.table(figures.map(({ name, value, unit }) => ({ name, value, unit })));
}
