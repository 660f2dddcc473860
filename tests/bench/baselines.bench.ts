/**
 * Baselines that mean something: every server runs in its own process and is driven by the same C
 * DEALER client (Debian's libzmq), so the full pipeline is compared with the peers a user would pick —
 * a C libzmq echo, a Node+zeromq echo, Carapace's own transport echo — and with the AF_UNIX floor.
 * Repetitions are interleaved (A B C … A B C …) and reported as min/median/max.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startCore } from "../harness/core.ts";
import { type BenchFigure, cpuMs, median, spreadFigure } from "./figure.ts";

const SYSTEM_LIBZMQ = ["/usr/lib/x86_64-linux-gnu/libzmq.so.5", "/usr/lib/aarch64-linux-gnu/libzmq.so.5"].find((p) =>
  existsSync(p),
);
const here = import.meta.dir;
const root = join(here, "../..");

interface Server {
  name: string;
  endpoint: string;
  pid: number;
  stop: () => Promise<void>;
}

async function spawnReady(cmd: string[], name: string, endpoint: string): Promise<Server> {
  const proc = Bun.spawn(cmd, { stdout: "pipe", stderr: "inherit", cwd: root });
  const reader = proc.stdout.getReader();
  let seen = "";
  while (!seen.includes("ready")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`${name} exited before it was ready`);
    seen += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  return {
    name,
    endpoint,
    pid: proc.pid,
    stop: async () => {
      proc.kill("SIGTERM");
      await proc.exited;
    },
  };
}

/** Resident and anonymous (heap, not file-backed binary pages) memory of a process, in MiB. */
function rssMiB(pid: number): { rss: number; anon: number } {
  const status = require("node:fs").readFileSync(`/proc/${pid}/status`, "utf8") as string;
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? 0);
  return { rss: Math.round(kb("VmRSS") / 1024), anon: Math.round(kb("RssAnon") / 1024) };
}

function runClient(cmd: string[]): number {
  const r = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe", cwd: root });
  const value = Number(r.stdout.toString().trim());
  if (r.exitCode !== 0 || !Number.isFinite(value)) throw new Error(`${cmd[1]} failed: ${r.stderr.toString().trim()}`);
  return value;
}

/** The median of interleaved repetitions with their min and max, as one figure. */
function spread(name: string, values: number[], unit: string): BenchFigure[] {
  return [spreadFigure(`${name}, median of ${values.length}`, values, unit)];
}

/**
 * CPU at light load: the same paced client against the core and against the Node echo, interleaved.
 * The kernel counts CPU in 10 ms ticks, so a window of W seconds cannot show less than 10/W ms per
 * second: a Node reading below that is reported as the floor, and the ratio uses the floor.
 */
function lightLoad(
  peers: string,
  lib: string,
  core: { pid: number; endpoint: string },
  node: Server,
  quick: boolean,
): BenchFigure[] {
  const reps = quick ? 2 : 5;
  const windows: Record<number, number> = { 10: quick ? 4000 : 10_000, 100: quick ? 2000 : 5000 };
  const used = new Map<string, number[]>();
  const add = (key: string, v: number) => used.set(key, [...(used.get(key) ?? []), v]);
  for (let rep = 0; rep < reps; rep++) {
    for (const rate of [10, 100]) {
      const ms = windows[rate] as number;
      const perSecond = (before: number, after: number) => (after - before) / (ms / 1000);
      const [all, main] = [cpuMs(core.pid), cpuMs(core.pid, core.pid)];
      runClient([peers, "zmq-paced", lib, core.endpoint, String(rate), String(ms)]);
      add(`core|${rate}`, perSecond(all, cpuMs(core.pid)));
      add(`main|${rate}`, perSecond(main, cpuMs(core.pid, core.pid)));
      const n = cpuMs(node.pid);
      runClient([peers, "zmq-paced", lib, node.endpoint, String(rate), String(ms)]);
      add(`node|${rate}`, perSecond(n, cpuMs(node.pid)));
    }
  }
  const figures: BenchFigure[] = [];
  for (const rate of [10, 100]) {
    const floor = 10 / ((windows[rate] as number) / 1000);
    const nodeRuns = (used.get(`node|${rate}`) ?? []).map((v) => Math.max(floor, v));
    const ratios = (used.get(`core|${rate}`) ?? []).map((c, i) => c / (nodeRuns[i] ?? Number.NaN));
    const n = median(nodeRuns);
    figures.push(...spread(`core CPU at ${rate} calls/s`, used.get(`core|${rate}`) ?? [], "ms CPU per s"));
    figures.push(...spread(`core main-thread CPU at ${rate} calls/s`, used.get(`main|${rate}`) ?? [], "ms CPU per s"));
    figures.push(
      spreadFigure(
        `Node+zeromq echo CPU at ${rate} calls/s (floor ${floor.toFixed(1)} from 10 ms ticks)`,
        nodeRuns,
        "ms CPU per s",
        1,
      ),
    );
    figures.push(
      spreadFigure(`core CPU / Node+zeromq echo CPU at ${rate} calls/s`, ratios.filter(Number.isFinite), "ratio", 2, {
        baseline: { name: "Node+zeromq echo CPU", value: Number(n.toFixed(1)), unit: "ms CPU per s" },
        goal: "<= 1.5",
      }),
    );
  }
  return figures;
}

/**
 * Memory return: 20 sessions each carry a short load, then close; RSS once the core has been quiet
 * (it collects 2 s after the last activity) against RSS while idle before. Full mode repeats the load
 * 5 times on the same core (each must give its memory back), quick mode once.
 */
async function rssAfterSessions(
  core: Awaited<ReturnType<typeof startCore>>,
  peers: string,
  lib: string,
  idleRss: number,
  quick: boolean,
): Promise<BenchFigure[]> {
  const loaded: number[] = [];
  const ratios: number[] = [];
  const anon: number[] = [];
  for (let rep = 0; rep < (quick ? 1 : 5); rep++) {
    const sessions = [];
    for (let i = 0; i < 20; i++) sessions.push(await core.openSession("bench"));
    for (const s of sessions) runClient([peers, "zmq-client", lib, `ipc://${s.socket}`, "16", quick ? "200" : "500"]);
    loaded.push(rssMiB(core.proc.pid).rss);
    for (const s of sessions) await core.closeSession(s.id);
    await Bun.sleep(4000);
    const after = rssMiB(core.proc.pid);
    ratios.push(after.rss / Math.max(idleRss, 1));
    anon.push(after.anon);
  }
  return [
    spreadFigure("core RSS under a 20-session load", loaded, "MiB"),
    spreadFigure("core RSS 4 s after a 20-session load / idle", ratios, "ratio", 2, {
      baseline: { name: "core RSS while idle", value: idleRss, unit: "MiB" },
      goal: "<= 1.2",
    }),
    spreadFigure("core anonymous RSS 4 s after a 20-session load", anon, "MiB"),
  ];
}

export async function runBaselineBench(opts: { quick: boolean }): Promise<BenchFigure[]> {
  if (!SYSTEM_LIBZMQ) throw new Error("Debian's libzmq5 is not installed (apt-get install libzmq5)");
  if (Bun.spawnSync(["sh", "-c", "command -v gcc && command -v node"]).exitCode !== 0)
    throw new Error("gcc and node are needed for the separate-process baselines");
  const dir = mkdtempSync(join(tmpdir(), "cbase-"));
  const peers = join(dir, "peers");
  const cc = Bun.spawnSync(["gcc", "-O2", "-o", peers, join(here, "baselines/peers.c"), "-ldl"], { stderr: "pipe" });
  if (cc.exitCode !== 0) throw new Error(`gcc: ${cc.stderr.toString()}`);
  const lib = SYSTEM_LIBZMQ;
  const ms = opts.quick ? 400 : 1500;
  const reps = opts.quick ? 3 : 5;
  const core = await startCore({
    config:
      "[security]\nrate_limit_per_minute = 1000000\nrate_limit_burst = 1000000\nmax_inflight_per_session = 1024\nmax_sessions_per_group = 64\n",
  });
  const servers: Server[] = [];
  let cleanup: Server[] = [];
  const figures: BenchFigure[] = [];
  try {
    const session = await core.openSession("bench");
    servers.push(
      await spawnReady([peers, "zmq-echo", lib, `ipc://${dir}/c.sock`], "C libzmq echo", `ipc://${dir}/c.sock`),
    );
    servers.push(
      await spawnReady(
        ["node", join(here, "baselines/node-peers.cjs"), "echo", `ipc://${dir}/n.sock`],
        "Node+zeromq echo",
        `ipc://${dir}/n.sock`,
      ),
    );
    servers.push(
      await spawnReady(
        [process.execPath, join(here, "baselines/transport-echo.ts"), `ipc://${dir}/t.sock`],
        "Carapace transport echo",
        `ipc://${dir}/t.sock`,
      ),
    );
    const unix = await spawnReady([peers, "unix-echo", join(dir, "u.sock")], "AF_UNIX ping-pong", join(dir, "u.sock"));
    cleanup = [...servers, unix];
    const pipeline = { name: "Carapace core, full pipeline", endpoint: `ipc://${session.socket}` };
    const idleMs = opts.quick ? 3000 : 5000;
    // Let the start-up tail (JIT compiles, the first collections) settle before idle is measured.
    await Bun.sleep(2000);
    const idleBefore = cpuMs(core.proc.pid);
    await Bun.sleep(idleMs);
    figures.push({
      name: "core CPU while idle",
      value: Number(((cpuMs(core.proc.pid) - idleBefore) / (idleMs / 1000)).toFixed(1)),
      unit: "ms CPU per s",
      goal: "<= 5",
    });
    const idle = rssMiB(core.proc.pid);
    figures.push({ name: "core RSS while idle", value: idle.rss, unit: "MiB" });
    figures.push({ name: "core anonymous RSS while idle", value: idle.anon, unit: "MiB", goal: "<= 30" });

    const results = new Map<string, number[]>();
    const add = (key: string, v: number) => results.set(key, [...(results.get(key) ?? []), v]);
    const pid = core.proc.pid;
    for (let rep = 0; rep < reps; rep++) {
      for (const inflight of [1, 16]) {
        add(`${unix.name}|${inflight}`, runClient([peers, "unix-client", unix.endpoint, String(inflight), String(ms)]));
        for (const s of [...servers, pipeline]) {
          const [all, main] = [cpuMs(pid), cpuMs(pid, pid)];
          const rts = runClient([peers, "zmq-client", lib, s.endpoint, String(inflight), String(ms)]);
          add(`${s.name}|${inflight}`, rts);
          if (s !== pipeline) continue;
          // CPU the core spent per call in this run: its main (JavaScript) thread, and all its threads.
          const calls = Math.max(1, (rts * ms) / 1000);
          add(`main|${inflight}`, ((cpuMs(pid, pid) - main) * 1000) / calls);
          add(`all|${inflight}`, ((cpuMs(pid) - all) * 1000) / calls);
        }
        const node = servers[1] as Server;
        add(
          `Node+zeromq echo, Node client|${inflight}`,
          runClient([
            "node",
            join(here, "baselines/node-peers.cjs"),
            "client",
            node.endpoint,
            String(inflight),
            String(ms),
          ]),
        );
      }
    }
    for (const [key, values] of results) {
      const [name, inflight] = key.split("|");
      if (name === "main" || name === "all") continue;
      const client = name?.includes("Node client") ? "" : name === unix.name ? "" : ", C client";
      figures.push(...spread(`${name}${client} (${inflight} in flight)`, values, "rt/s"));
    }
    // Each repetition's ratio (the pipeline and its baseline ran back to back), then their spread.
    for (const inflight of [1, 16]) {
      const full = results.get(`${pipeline.name}|${inflight}`) ?? [];
      for (const base of ["Node+zeromq echo", "Node+zeromq echo, Node client", "C libzmq echo", unix.name]) {
        const runs = results.get(`${base}|${inflight}`) ?? [];
        const ratios = full.map((f, i) => f / (runs[i] ?? Number.NaN)).filter(Number.isFinite);
        figures.push(
          spreadFigure(`full pipeline / ${base} (${inflight} in flight)`, ratios, "ratio", 3, {
            baseline: { name: base, value: Math.round(median(runs)), unit: "rt/s" },
            ...(base.startsWith("Node") ? { goal: ">= 1.0" } : {}),
          }),
        );
      }
    }

    for (const inflight of [1, 16]) {
      figures.push(
        ...spread(`core main-thread CPU per call (${inflight} in flight)`, results.get(`main|${inflight}`) ?? [], "µs"),
      );
      (figures.at(-1) as BenchFigure).goal = "<= 50";
      figures.push(
        ...spread(`core CPU per call, all threads (${inflight} in flight)`, results.get(`all|${inflight}`) ?? [], "µs"),
      );
    }
    figures.push(...lightLoad(peers, lib, { pid, endpoint: pipeline.endpoint }, servers[1] as Server, opts.quick));
    figures.push(...(await rssAfterSessions(core, peers, lib, idle.rss, opts.quick)));
  } finally {
    for (const s of cleanup.length ? cleanup : servers) await s.stop();
    await core.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return figures;
}
