import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureBinaries } from "./binaries.ts";
import { runCommand } from "./run.ts";

export interface IpcResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed for code 0, stderr parsed for code 1, else null. */
  json: Record<string, unknown> | null;
}

export interface RunningCore {
  home: string;
  env: Record<string, string>;
  proc: ReturnType<typeof Bun.spawn>;
  output(): string;
  /** The core's output as text: each JSON log line (the format off a terminal) becomes its message. */
  messages(): string;
  carapace(args: string[], opts?: { stdin?: string }): Promise<IpcResult>;
  openSession(group?: string): Promise<{ id: string; socket: string; group: string }>;
  closeSession(id: string): Promise<void>;
  ipc(
    socket: string,
    tool: string,
    args?: unknown,
    opts?: { stdin?: string; env?: Record<string, string> },
  ): Promise<IpcResult>;
  audit(group: string): Record<string, unknown>[];
  stop(): Promise<void>;
  kill(): Promise<void>;
}

const cleanupHomes = new Set<string>();
process.on("exit", () => {
  for (const h of cleanupHomes) rmSync(h, { recursive: true, force: true });
});

/** Homes are named for the test process (`cph-<pid base 36>-XXXXXX`) so a later run can tell leftovers. */
const HOME_PREFIX = `cph-${process.pid.toString(36)}-`;
const RUN_HOME = /^cph-([0-9a-z]+)-[A-Za-z0-9]{6}$/;
let swept = false;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Removes temp homes of test processes that are gone. `bun test` exits without firing "exit", so a
 * process cannot clean up after itself; the next one does. Returns the homes removed.
 */
export function sweepDeadRunHomes(tmp = "/tmp"): string[] {
  const removed: string[] = [];
  for (const name of readdirSync(tmp)) {
    const pid = Number.parseInt(RUN_HOME.exec(name)?.[1] ?? "", 36);
    if (!Number.isSafeInteger(pid) || pid <= 0 || alive(pid)) continue;
    rmSync(join(tmp, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

/** Log lines of the core as plain text: a JSON line's `msg`, any other line as it is. */
export function logMessages(output: string): string {
  return output
    .split("\n")
    .map((line) => {
      if (!line.startsWith("{")) return line;
      try {
        const msg = (JSON.parse(line) as { msg?: unknown }).msg;
        return typeof msg === "string" ? msg : line;
      } catch {
        return line;
      }
    })
    .join("\n");
}

/** A short temp home: Unix socket paths must stay under 108 bytes. */
export function tempHome(): string {
  if (!swept) {
    swept = true;
    sweepDeadRunHomes();
  }
  const home = mkdtempSync(`/tmp/${HOME_PREFIX}`);
  cleanupHomes.add(home);
  return home;
}

function parse(text: string): Record<string, unknown> | null {
  try {
    const v = JSON.parse(text.trim());
    return typeof v === "object" && v !== null ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** Starts the real compiled core in a temp home and waits until its control socket answers. */
export async function startCore(
  options: { config?: string; home?: string; args?: string[]; env?: Record<string, string> } = {},
): Promise<RunningCore> {
  const bins = ensureBinaries();
  const home = options.home ?? tempHome();
  if (options.config !== undefined) writeFileSync(join(home, "config.toml"), options.config, { mode: 0o600 });
  const env: Record<string, string> = {
    PATH: "/usr/bin:/bin",
    HOME: home,
    CARAPACE_HOME: home,
    NO_COLOR: "1",
    TMPDIR: "/tmp",
    ...(options.env ?? {}),
  };
  let out = "";
  const proc = Bun.spawn([bins.carapace, "start", ...(options.args ?? [])], { env, stdout: "pipe", stderr: "pipe" });
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) out += decoder.decode(chunk, { stream: true });
  };
  const pumps = Promise.all([
    pump(proc.stdout as ReadableStream<Uint8Array>),
    pump(proc.stderr as ReadableStream<Uint8Array>),
  ]).catch(() => undefined);
  // The process has exited, but its last lines may still be on their way through the pipes (bounded: a
  // child that inherited them could keep them open).
  const drained = async () => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([pumps, new Promise((resolve) => (timer = setTimeout(resolve, 5_000)))]);
    clearTimeout(timer);
  };

  const run = async (
    cmd: string[],
    opts: { stdin?: string; env?: Record<string, string> } = {},
  ): Promise<IpcResult> => {
    const r = await runCommand(cmd, { env: { ...env, ...(opts.env ?? {}) }, stdin: opts.stdin });
    return { ...r, json: r.code === 0 ? parse(r.stdout) : r.code === 1 ? parse(r.stderr) : null };
  };
  const core: RunningCore = {
    home,
    env,
    proc,
    output: () => out,
    messages: () => logMessages(out),
    carapace: (args, opts) => run([bins.carapace, ...args], opts),
    async openSession(group = "default") {
      const r = await run([bins.carapace, "session", "open", "--group", group, "--json"]);
      if (r.code !== 0 || !r.json) throw new Error(`session open failed: ${r.stderr}`);
      return r.json as { id: string; socket: string; group: string };
    },
    async closeSession(id) {
      const r = await run([bins.carapace, "session", "close", id]);
      if (r.code !== 0) throw new Error(`session close failed: ${r.stderr}`);
    },
    ipc: (socket, tool, args = {}, opts = {}) =>
      run(opts.stdin !== undefined ? [bins.ipc, tool] : [bins.ipc, tool, JSON.stringify(args)], {
        ...opts,
        env: { CARAPACE_SOCKET: socket, ...(opts.env ?? {}) },
      }),
    audit(group) {
      const file = join(home, "data/audit", `${group}.jsonl`);
      if (!existsSync(file)) return [];
      const text = readFileSync(file, "utf8");
      // Only whole lines: a batch being written may be seen in part.
      return text
        .slice(0, text.lastIndexOf("\n") + 1)
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    async stop() {
      if (proc.exitCode !== null) return;
      await run([bins.carapace, "stop"]);
      await proc.exited;
      await drained();
    },
    async kill() {
      proc.kill("SIGKILL");
      await proc.exited;
      await drained();
    },
  };
  // About a second on a quiet machine; far longer on a loaded one (the test's own timeout still applies).
  const deadline = Date.now() + 45_000;
  for (;;) {
    const status = await run([bins.carapace, "status", "--json"]);
    if (status.code === 0) break;
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`core did not start:\n${out}`);
    await Bun.sleep(50);
  }
  return core;
}

/** Waits until the audit log of `group` has a record matching `pred` (audit writes are grouped). */
export async function waitForAudit(
  core: RunningCore,
  group: string,
  pred: (r: Record<string, unknown>) => boolean,
  ms = 10_000,
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const hit = core.audit(group).find(pred);
    if (hit) return hit;
    if (Date.now() > deadline)
      throw new Error(`no matching audit record in ${group}: ${JSON.stringify(core.audit(group).slice(-5))}`);
    await Bun.sleep(20);
  }
}
