/**
 * One plugin process as the core sees it: started inside its sandbox, reached over its own ROUTER
 * socket, answering requests with deadlines. It never restarts itself; the host decides (supervisor.ts).
 */
import { randomBytes } from "node:crypto";
import { chownSync, closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import type { Subprocess } from "bun";
import { sanitizeText } from "../../core/response/sanitize.ts";
import { withTimeout } from "../../platform/timeout.ts";
import { RouterSocket } from "../../transport/sockets.ts";
import {
  type ChannelAnswer,
  type ChannelError,
  type ChannelRequest,
  type PluginHook,
  type RunnerStart,
  TO_CORE,
  TO_PLUGIN,
} from "../channel/messages.ts";
import { PLUGIN_GID, PLUGIN_UID, type SandboxedCommand } from "./sandbox.ts";
import { ServiceRefusal } from "./service-desk.ts";

/** Why a request to a plugin process did not get an answer. */
export class PluginCallError extends Error {
  constructor(
    readonly reason: "unavailable" | "timeout",
    message: string,
  ) {
    super(message);
    this.name = "PluginCallError";
  }
}

/** A handler's answer that is an error: a ToolError (code, message) or a generic failure. */
export class PluginAnswerError extends Error {
  constructor(readonly answer: ChannelError) {
    super(answer.message);
    this.name = "PluginAnswerError";
  }
}

export interface ProcessExit {
  code: number | null;
  signal: string | null;
  /** Set when the core killed it (busy loop, memory, shutdown). */
  killedFor?: string;
}

export interface PluginProcessOptions {
  plugin: string;
  socketDir: string;
  command: SandboxedCommand;
  start: Omit<RunnerStart, "endpoint" | "nonce">;
  asRoot: boolean;
  maxMessageBytes: number;
  /** Resident memory of the whole process tree above which it is killed. */
  memoryBytes: number;
  /** A request from the plugin (a CoreServices call); `scope` is the core's id of the request it handles. */
  onService(topic: string, args: unknown): Promise<unknown>;
  onLog(line: string): void;
  onExit(exit: ProcessExit): void;
}

const decoder = new TextDecoder();
const MEMORY_POLL_MS = 200;

/** Resident bytes of a process and all its descendants (Linux /proc); 0 where it cannot be read. */
export function treeResidentBytes(pid: number): number {
  if (process.platform !== "linux") return 0;
  let total = 0;
  const queue = [pid];
  const seen = new Set<number>();
  while (queue.length > 0 && seen.size < 64) {
    const p = queue.shift() as number;
    if (seen.has(p)) continue;
    seen.add(p);
    try {
      const status = readFileSync(`/proc/${p}/status`, "utf8");
      const rss = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
      if (rss) total += Number(rss) * 1024;
      const children = readFileSync(`/proc/${p}/task/${p}/children`, "utf8").trim();
      if (children) for (const c of children.split(/\s+/)) queue.push(Number(c));
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

export class PluginProcess {
  private child: Subprocess<"pipe", "pipe", "pipe"> | null = null;
  private router: RouterSocket | null = null;
  private peer: Uint8Array | null = null;
  private readonly nonce = randomBytes(16).toString("hex");
  private readonly pending = new Map<
    string,
    { resolve(v: unknown): void; reject(e: Error): void; timer: ReturnType<typeof setTimeout> | null }
  >();
  private readonly connected = Promise.withResolvers<void>();
  private serial = 0;
  private exited = false;
  private killedFor: string | undefined;
  private stopping = false;
  private watchdog: ReturnType<typeof setInterval> | null = null;
  hooks: PluginHook[] = [];
  pid: number | null = null;

  constructor(private readonly o: PluginProcessOptions) {}

  get alive(): boolean {
    return !this.exited && this.child !== null;
  }

  /** Spawns the process and waits for its hello (within `timeoutMs`: starting, not initializing). */
  async spawn(timeoutMs: number): Promise<void> {
    const socketPath = join(this.o.socketDir, "plugin.sock");
    rmSync(this.o.socketDir, { recursive: true, force: true });
    mkdirSync(this.o.socketDir, { recursive: true, mode: 0o700 });
    if (this.o.asRoot) chownSync(this.o.socketDir, PLUGIN_UID, PLUGIN_GID);
    this.router = new RouterSocket(`ipc://${socketPath}`, (peer, frames) => this.onFrame(peer, frames), {
      maxMessageBytes: this.o.maxMessageBytes,
      receiveHighWater: 1000,
      maxFrames: 4,
    });
    if (this.o.asRoot) chownSync(socketPath, PLUGIN_UID, PLUGIN_GID);
    const start: RunnerStart = {
      ...this.o.start,
      endpoint: `ipc://${join(this.o.command.socketDir, "plugin.sock")}`,
      nonce: this.nonce,
    };
    // bwrap reads the seccomp program from an inherited fd: a 0600 file outside the sandbox, gone once spawned.
    const seccompPath = join(dirname(this.o.socketDir), `${basename(this.o.socketDir)}.seccomp`);
    let seccompFd: number | null = null;
    let child: Subprocess<"pipe", "pipe", "pipe">;
    try {
      if (this.o.command.seccomp) {
        writeFileSync(seccompPath, this.o.command.seccomp, { mode: 0o600, flag: "wx" });
        seccompFd = openSync(seccompPath, "r");
      }
      child = Bun.spawn(this.o.command.argv, {
        env: this.o.command.env,
        stdio: ["pipe", "pipe", "pipe", ...(seccompFd === null ? [] : [seccompFd])],
      }) as Subprocess<"pipe", "pipe", "pipe">;
    } finally {
      if (seccompFd !== null) closeSync(seccompFd);
      rmSync(seccompPath, { force: true });
    }
    this.child = child;
    this.pid = child.pid;
    // The start message (declared credentials included) goes through the pipe, then stdin closes.
    child.stdin.write(JSON.stringify(start));
    void child.stdin.end();
    void this.pipeLines(child.stdout, "out");
    void this.pipeLines(child.stderr, "err");
    void child.exited.then(() => this.onExited(child));
    this.watchdog = setInterval(() => {
      if (treeResidentBytes(child.pid) > this.o.memoryBytes) this.kill("used more memory than its limit");
    }, MEMORY_POLL_MS);
    const timer = setTimeout(
      () => this.connected.reject(new PluginCallError("timeout", "did not connect in time")),
      timeoutMs,
    );
    try {
      await this.connected.promise;
    } finally {
      clearTimeout(timer);
    }
  }

  private async pipeLines(stream: ReadableStream<Uint8Array>, which: "out" | "err"): Promise<void> {
    let buffered = "";
    try {
      for await (const chunk of stream) {
        buffered += decoder.decode(chunk, { stream: true });
        let nl = buffered.indexOf("\n");
        while (nl >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          if (line.trim()) this.o.onLog(`[plugin ${this.o.plugin}] ${which}: ${line.slice(0, 2000)}`);
          nl = buffered.indexOf("\n");
        }
        if (buffered.length > 8192) buffered = buffered.slice(-8192);
      }
    } catch {
      // the process is gone
    }
    if (buffered.trim()) this.o.onLog(`[plugin ${this.o.plugin}] ${which}: ${buffered.slice(0, 2000)}`);
  }

  private onExited(child: Subprocess): void {
    if (this.exited) return;
    this.exited = true;
    if (this.watchdog) clearInterval(this.watchdog);
    this.router?.close();
    this.router = null;
    this.connected.reject(new PluginCallError("unavailable", "the plugin process ended"));
    this.connected.promise.catch(() => {});
    for (const [id, p] of this.pending) {
      if (p.timer) clearTimeout(p.timer);
      // Calls cut short by a deliberate stop were answered already; they did not finish late.
      if (!this.stopping) p.reject(new PluginCallError("unavailable", "the plugin process ended"));
      this.pending.delete(id);
    }
    rmSync(this.o.socketDir, { recursive: true, force: true });
    this.o.onExit({
      code: child.exitCode,
      signal: child.signalCode === null ? null : String(child.signalCode),
      ...(this.killedFor ? { killedFor: this.killedFor } : {}),
    });
  }

  private onFrame(peer: Uint8Array, frames: Uint8Array[]): void {
    const [delimiter, body] = frames;
    if (!body || (delimiter && delimiter.length !== 0)) return;
    let message: ChannelRequest | ChannelAnswer;
    try {
      message = JSON.parse(decoder.decode(body));
    } catch {
      return;
    }
    if (typeof message !== "object" || message === null) return;
    if (!this.peer) {
      // The first frame must be this process's hello with its nonce; anything else is ignored.
      const hello = message as ChannelRequest<{ nonce?: unknown }>;
      if (hello.topic !== TO_CORE.hello || hello.arguments?.nonce !== this.nonce) return;
      this.peer = peer;
      this.connected.resolve();
      return;
    }
    if (Buffer.compare(peer, this.peer) !== 0) return;
    if ("kind" in message) this.onAnswer(message);
    else void this.onRequest(message);
  }

  private onAnswer(answer: ChannelAnswer): void {
    const waiter = typeof answer.correlation === "string" ? this.pending.get(answer.correlation) : undefined;
    if (!waiter) return;
    this.pending.delete(answer.correlation);
    if (waiter.timer) clearTimeout(waiter.timer);
    if (answer.kind === "result") waiter.resolve(answer.result);
    else waiter.reject(new PluginAnswerError(sanitizeAnswerError(answer.error)));
  }

  private async onRequest(req: ChannelRequest): Promise<void> {
    if (typeof req.topic !== "string") return;
    const correlation = typeof req.correlation === "string" ? req.correlation.slice(0, 64) : "";
    try {
      const result = await this.o.onService(req.topic, req.arguments);
      if (!correlation) return;
      if (result instanceof ServiceRefusal) {
        this.send({ kind: "error", correlation, error: { code: "PLUGIN_ERROR", message: result.message } });
      } else this.send({ kind: "result", correlation, result: result ?? null });
    } catch (error) {
      const message = error instanceof Error ? error.message : "refused";
      if (correlation) this.send({ kind: "error", correlation, error: { code: "PLUGIN_ERROR", message } });
    }
  }

  private send(message: object): boolean {
    if (!this.router || !this.peer) return false;
    const outcome = this.router.send(this.peer, ["", JSON.stringify(message)]);
    return outcome === "sent" || outcome === "again";
  }

  /**
   * A request with a deadline: rejects with PluginCallError (timeout/unavailable) or PluginAnswerError.
   * With `onDeadline`, the deadline only calls it and the request stays open: an answer that comes
   * later still settles it, and the process ending rejects it.
   */
  request(topic: string, args: unknown, timeoutMs: number, onDeadline?: () => void): Promise<unknown> {
    if (!this.alive || !this.peer) {
      return Promise.reject(new PluginCallError("unavailable", "the plugin process is not running"));
    }
    const correlation = `c${++this.serial}`;
    const { promise, resolve, reject } = Promise.withResolvers<unknown>();
    const timer = setTimeout(() => {
      if (onDeadline) return onDeadline();
      this.pending.delete(correlation);
      reject(new PluginCallError("timeout", `no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    this.pending.set(correlation, { resolve, reject, timer });
    if (!this.send({ topic, correlation, arguments: args })) {
      clearTimeout(timer);
      this.pending.delete(correlation);
      reject(new PluginCallError("unavailable", "the plugin process is not reachable"));
    }
    return promise;
  }

  /** True when the process answers a ping in time (a busy loop or a stuck event loop does not). */
  async responsive(timeoutMs: number): Promise<boolean> {
    try {
      await this.request(TO_PLUGIN.ping, {}, timeoutMs);
      return true;
    } catch {
      return false;
    }
  }

  kill(reason: string): void {
    if (!this.child || this.exited) return;
    this.killedFor ??= reason;
    try {
      this.child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }

  /** Asks for shutdown() within `timeoutMs`, then kills what is left. */
  async stop(timeoutMs: number): Promise<"stopped" | "killed"> {
    if (!this.alive) return "stopped";
    this.stopping = true;
    let outcome: "stopped" | "killed" = "stopped";
    const child = this.child;
    try {
      // The runner answers and then exits. Its exit can be seen before its answer is read (or it ends
      // without one), and onExited drops a deliberate stop's waiters with their timers: the exit has
      // to settle the request too, or this await never returns.
      await Promise.race([this.request(TO_PLUGIN.shutdown, {}, timeoutMs), child?.exited]);
    } catch {
      outcome = "killed";
    }
    if (child && !this.exited) {
      // Deadlines through withTimeout, whose timer is cleared: a pending sleep would keep a stopped core's
      // event loop alive for its full length after the process had long exited.
      const done = (await withTimeout(() => child.exited, 500)) !== "timeout";
      if (!done) {
        this.kill("shutdown");
        outcome = "killed";
      }
      // Bounded: a process the kernel has not reaped yet must not hold up the core's stop.
      await withTimeout(() => child.exited, 2_000);
      if (!this.exited) this.onExited(child);
    }
    return outcome;
  }

  get exitedPromise(): Promise<unknown> {
    return this.child?.exited ?? Promise.resolve();
  }
}

/** Only what a ToolError may carry crosses; lengths are bounded; anything else is a generic failure. */
function sanitizeAnswerError(e: unknown): ChannelError {
  const o = (typeof e === "object" && e !== null ? e : {}) as Record<string, unknown>;
  if (o.tool_error === true && typeof o.code === "string" && typeof o.message === "string") {
    return {
      tool_error: true,
      code: o.code.slice(0, 64),
      // Scrubbed before it is cut: a cut first could leave a secret's prefix no pattern recognizes.
      message: sanitizeText(o.message).slice(0, 500),
      retriable: o.retriable === true,
    };
  }
  if (["IMPORT_FAILED", "BAD_HANDLER", "INIT_FAILED"].includes(String(o.code)) && typeof o.message === "string") {
    return { code: o.code as "IMPORT_FAILED", message: sanitizeText(o.message).slice(0, 500) };
  }
  if (
    o.code === "HANDLER_ERROR" &&
    typeof o.message === "string" &&
    /^the tool's reply exceeds \d+ bytes$/.test(o.message)
  ) {
    return { code: "HANDLER_ERROR", message: o.message };
  }
  if (o.code === "MCP_UNREACHABLE") return { code: "MCP_UNREACHABLE", message: "the MCP server cannot be reached" };
  return { code: "PLUGIN_ERROR", message: "the tool failed" };
}
