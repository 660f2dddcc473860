/**
 * Runs agent containers: spawn attached (stdin payload written then closed, output streamed), stop
 * gracefully and kill after the stop timeout, always remove, and clean up containers a crashed host
 * left behind (found by label, never by name).
 */

import { withTimeout } from "../platform/timeout.ts";
import { DEFAULT_LIMITS } from "../protocol/limits.ts";
import type { ChildProcess } from "./exec.ts";
import { LABELS } from "./paths.ts";
import type { ContainerRuntime, RunSpec } from "./runtime.ts";

export interface SpawnIo {
  /** Written to the container's stdin, which is then closed (the entrypoint's token protocol). */
  stdin?: string | Uint8Array;
  /**
   * Keep stdin open and write nothing: the entrypoint blocks on its first read until `release` writes
   * the payload (a pre-started container waiting for the session that claims it).
   */
  hold?: boolean;
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
}

export type ExitReason = "exited" | "spawn-failed" | "stopped" | "killed";

export interface ContainerExit {
  name: string;
  code: number;
  reason: ExitReason;
  /** Last lines of stderr, for error messages. */
  stderrTail: string;
}

export interface AgentContainer {
  readonly name: string;
  readonly exited: Promise<ContainerExit>;
  /** Graceful stop, kill after the stop timeout, then removal. Idempotent. */
  stop(): Promise<ContainerExit>;
  /**
   * A held container (SpawnIo.hold): writes `stdin` and closes it, once; later calls are refused. With
   * no payload the entrypoint reads end-of-file and exits, which is how an unclaimed container is ended.
   */
  release(stdin?: string | Uint8Array): void;
  /**
   * False from the moment its process ended, before `exited` resolves (that waits for the removal): a
   * pre-started container that died must not be claimed while its removal is still under way.
   */
  alive(): boolean;
}

export interface LifecycleOptions {
  stopTimeoutMs?: number;
  /** How long to wait for the attached client to exit after `stop` or `kill` returned. */
  settleMs?: number;
  log?: (level: "info" | "warn", message: string) => void;
}

/** Exit codes the runtime CLI (not the container) returns when it could not start the container. */
const RUNTIME_FAILURE_CODES = new Set([125, 126, 127]);
const STDERR_TAIL_BYTES = 2000;

export class ContainerLifecycle {
  private readonly live = new Map<string, AgentContainer>();
  private readonly stopTimeoutMs: number;
  private readonly settleMs: number;
  private readonly log: NonNullable<LifecycleOptions["log"]>;

  constructor(
    readonly runtime: ContainerRuntime,
    options: LifecycleOptions = {},
  ) {
    this.stopTimeoutMs = options.stopTimeoutMs ?? DEFAULT_LIMITS.containerStopTimeoutMs;
    this.settleMs = options.settleMs ?? 2000;
    this.log = options.log ?? (() => {});
  }

  /** Names of containers started by this lifecycle that have not finished yet. */
  running(): string[] {
    return [...this.live.keys()];
  }

  spawn(spec: RunSpec, io: SpawnIo = {}): AgentContainer {
    if (this.live.has(spec.name)) throw new Error(`container ${spec.name} is already running`);
    const child = this.runtime.spawn(spec);
    let stderrTail = "";
    child.onStdout((chunk) => io.onStdout?.(chunk));
    child.onStderr((chunk) => {
      stderrTail = (stderrTail + chunk).slice(-STDERR_TAIL_BYTES);
      io.onStderr?.(chunk);
    });
    let held = io.hold === true;
    const release = (stdin?: string | Uint8Array) => {
      if (!held) throw new Error(`container ${spec.name} is not held or was already released`);
      held = false;
      if (stdin !== undefined) child.write(stdin);
      child.closeStdin();
    };
    if (!held) {
      if (io.stdin !== undefined) child.write(io.stdin);
      child.closeStdin();
    }

    let alive = true;
    void child.exited.then(() => {
      alive = false;
    });
    let requested: "stopped" | "killed" | null = null;
    const exited = child.exited.then(async (code): Promise<ContainerExit> => {
      await this.removeQuietly(spec.name);
      this.live.delete(spec.name);
      const reason: ExitReason = requested ?? (RUNTIME_FAILURE_CODES.has(code) ? "spawn-failed" : "exited");
      if (reason === "spawn-failed") this.log("warn", `container ${spec.name} failed to start: ${stderrTail.trim()}`);
      return { name: spec.name, code, reason, stderrTail };
    });

    let stopping: Promise<ContainerExit> | null = null;
    const container: AgentContainer = {
      name: spec.name,
      exited,
      release,
      alive: () => alive,
      stop: () => {
        stopping ??= this.stopChild(spec.name, child, exited, (r) => {
          requested = r;
        });
        return stopping;
      },
    };
    this.live.set(spec.name, container);
    return container;
  }

  /** Stops every container this lifecycle started (host shutdown). */
  async stopAll(): Promise<ContainerExit[]> {
    return await Promise.all([...this.live.values()].map((c) => c.stop()));
  }

  /**
   * Removes containers a crashed host left behind: every managed container of this instance that this
   * lifecycle did not start. Returns their names.
   */
  async cleanupOrphans(instance: string): Promise<string[]> {
    const found = await this.runtime.listByLabel(LABELS.instance, instance);
    const orphans = found.filter((c) => c.labels[LABELS.managed] === "true" && !this.live.has(c.name));
    for (const c of orphans) {
      await this.runtime.remove(c.name || c.id);
      this.log("info", `removed orphaned container ${c.name || c.id}`);
    }
    return orphans.map((c) => c.name || c.id);
  }

  private async stopChild(
    name: string,
    child: ChildProcess,
    exited: Promise<ContainerExit>,
    mark: (reason: "stopped" | "killed") => void,
  ): Promise<ContainerExit> {
    mark("stopped");
    const seconds = Math.max(1, Math.ceil(this.stopTimeoutMs / 1000));
    try {
      await this.runtime.stop(name, seconds);
    } catch (err) {
      this.log("warn", `graceful stop of ${name} failed: ${(err as Error).message}`);
    }
    if (await settled(exited, this.settleMs)) return await exited;
    mark("killed");
    this.log("warn", `container ${name} did not stop within ${seconds} s; killing it`);
    try {
      await this.runtime.kill(name);
    } catch (err) {
      this.log("warn", `kill of ${name} failed: ${(err as Error).message}`);
    }
    if (await settled(exited, this.settleMs)) return await exited;
    await this.removeQuietly(name);
    child.kill("SIGKILL");
    return await exited;
  }

  private async removeQuietly(name: string): Promise<void> {
    try {
      await this.runtime.remove(name);
    } catch (err) {
      this.log("warn", `could not remove container ${name}: ${(err as Error).message}`);
    }
  }
}

async function settled(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return (await withTimeout(() => promise, ms)) !== "timeout";
}
