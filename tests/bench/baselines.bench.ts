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
import { type BenchFigure, cpuMs, median } from "./figure.ts";

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

function spread(name: string, values: number[], unit: string): BenchFigure[] {
  const sorted = [...values].sort((a, b) => a - b);
  return [
    { name: `${name}, median of ${values.length}`, value: Math.round(median(values)), unit },
    {
      name: `${name}, min / max`,
      value: Math.round(sorted[0] as number),
      unit: `${unit} (max ${Math.round(sorted.at(-1) as number)})`,
    },
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
      "[security]\nrate_limit_per_minute = 1000000\nrate_limit_burst = 1000000\nmax_inflight_per_session = 1024\n",
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
    const idleMs = opts.quick ? 1000 : 3000;
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
    for (let rep = 0; rep < reps; rep++) {
      for (const inflight of [1, 16]) {
        add(`${unix.name}|${inflight}`, runClient([peers, "unix-client", unix.endpoint, String(inflight), String(ms)]));
        for (const s of [...servers, pipeline])
          add(`${s.name}|${inflight}`, runClient([peers, "zmq-client", lib, s.endpoint, String(inflight), String(ms)]));
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
      const client = name?.includes("Node client") ? "" : name === unix.name ? "" : ", C client";
      figures.push(...spread(`${name}${client} (${inflight} in flight)`, values, "rt/s"));
    }
    for (const inflight of [1, 16]) {
      const full = median(results.get(`${pipeline.name}|${inflight}`) ?? []);
      for (const base of ["Node+zeromq echo", "Node+zeromq echo, Node client", "C libzmq echo"]) {
        const b = median(results.get(`${base}|${inflight}`) ?? []);
        figures.push({
          name: `full pipeline / ${base} (${inflight} in flight)`,
          value: Number((full / b).toFixed(3)),
          unit: "ratio",
          baseline: { name: base, value: Math.round(b), unit: "rt/s" },
          ...(base.startsWith("Node") ? { goal: ">= 1.0" } : {}),
        });
      }
    }

    // CPU at light load: the same paced client against the core and against the Node echo.
    const coreProc = { name: "Carapace core", pid: core.proc.pid, endpoint: pipeline.endpoint };
    const nodeProc = servers[1] as Server;
    const paceMs = opts.quick ? 2000 : 5000;
    for (const rate of [10, 100]) {
      const used: Record<string, number> = {};
      for (const target of [coreProc, nodeProc]) {
        const before = cpuMs(target.pid);
        runClient([peers, "zmq-paced", lib, target.endpoint, String(rate), String(paceMs)]);
        used[target.name] = (cpuMs(target.pid) - before) / (paceMs / 1000);
      }
      const c = used[coreProc.name] as number;
      const n = used[nodeProc.name] as number;
      figures.push({ name: `core CPU at ${rate} calls/s`, value: Number(c.toFixed(1)), unit: "ms CPU per s" });
      figures.push({
        name: `core CPU / Node+zeromq echo CPU at ${rate} calls/s`,
        value: Number((c / Math.max(n, 0.1)).toFixed(2)),
        unit: "ratio",
        baseline: { name: "Node+zeromq echo CPU", value: Number(n.toFixed(1)), unit: "ms CPU per s" },
        goal: "<= 1.5",
      });
    }
    await Bun.sleep(1000);
    const after = rssMiB(core.proc.pid);
    figures.push({
      name: "core RSS 1 s after the throughput and paced runs / idle",
      value: Number((after.rss / Math.max(idle.rss, 1)).toFixed(2)),
      unit: "ratio",
      baseline: { name: "core RSS while idle", value: idle.rss, unit: "MiB" },
      goal: "<= 1.2",
    });
  } finally {
    for (const s of cleanup.length ? cleanup : servers) await s.stop();
    await core.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return figures;
}
