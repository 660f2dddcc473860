/**
 * Pre-started ("warm") agent containers: at most one per active group, started with exactly the run
 * specification a cold session of that group would get (read-only root, no network, the group's mounts
 * only, the same limits), but with no session: its socket directory is empty (no socket bound), its
 * prompt and CLAUDE.md are empty, and its stdin is held open with nothing written, so the entrypoint
 * waits on its first read before any credential exists. A session of the same group claims it once
 * (take removes it from the pool first), and it is never handed out again; an unclaimed one is ended by
 * closing its stdin (the entrypoint reads end-of-file and exits).
 */
import type { AgentContainer } from "../container/lifecycle.ts";
import type { RunSpec } from "../container/runtime.ts";
import type { SessionFiles } from "./workspace.ts";

export interface WarmContainer {
  readonly group: string;
  /** The session id its directories were provisioned under; the claiming session gets this id. */
  readonly sessionId: string;
  readonly sessionDir: string;
  readonly files: SessionFiles;
  readonly user: string;
  /** The run specification it was started with, compared with a cold session's at the claim. */
  readonly spec: RunSpec;
  readonly container: AgentContainer;
  /** Where its output goes: nowhere until a session claims it. */
  readonly sink: { stdout?: (chunk: string) => void; stderr?: (chunk: string) => void };
  readonly startedAt: number;
}

export interface WarmPoolDeps {
  /** Starts one warm container for `group` (provisions its directories, spawns it held). */
  start(group: string): Promise<WarmContainer>;
  /** Removes what start provisioned for an unclaimed container, once it has exited. */
  discard(warm: WarmContainer): void;
  log(message: string): void;
  /** An unclaimed container is ended after this long, and its group no longer counts as active. */
  idleMs: number;
  /**
   * An unclaimed container older than this is replaced by a fresh one while its group is still active:
   * Claude Code gives up on a key helper that has not answered after 10 minutes, so one that waited
   * longer would send its first request without the session's token.
   */
  maxAgeMs: number;
}

export interface WarmView {
  group: string;
  container: string;
  state: "starting" | "ready";
  since: number;
}

interface Slot {
  readonly ready: Promise<WarmContainer | null>;
  warm: WarmContainer | null;
  readonly since: number;
  /** A session took it (maybe while it was still starting): it is that session's alone. */
  taken: boolean;
  /** When its group stops counting as active: no replacement is started after this. */
  readonly activeUntil: number;
  timer?: ReturnType<typeof setTimeout>;
}

export class WarmPool {
  private readonly slots = new Map<string, Slot>();
  private readonly ending = new Set<Promise<unknown>>();
  private stopped = false;

  constructor(private readonly deps: WarmPoolDeps) {}

  /** Starts a warm container for `group` unless it has one (ready or starting) or the pool stopped. */
  refill(group: string, activeUntil = Date.now() + this.deps.idleMs): void {
    if (this.stopped || this.slots.has(group)) return;
    const slot: Slot = {
      since: Date.now(),
      warm: null,
      taken: false,
      activeUntil,
      ready: this.deps.start(group).then(
        (warm) => {
          if (this.stopped) {
            this.end(warm);
            return null;
          }
          if (slot.taken) return warm;
          slot.warm = warm;
          const left = Math.max(0, slot.activeUntil - Date.now());
          slot.timer = setTimeout(() => this.expire(group, slot), Math.min(left, this.deps.maxAgeMs));
          slot.timer.unref?.();
          // One that exits unclaimed (it failed, or someone stopped it) leaves the pool and its files go.
          void warm.container.exited.then(() => {
            if (this.slots.get(group) === slot) this.slots.delete(group);
            if (slot.warm === warm) this.deps.discard(warm);
          });
          return warm;
        },
        (e: Error) => {
          if (this.slots.get(group) === slot) this.slots.delete(group);
          if (!this.stopped)
            this.deps.log(`[AGENT] Warning: no pre-started container for group ${group}: ${e.message}`);
          return null;
        },
      ),
    };
    this.slots.set(group, slot);
  }

  /**
   * Takes the group's warm container out of the pool (waiting for one still starting): after this no
   * one else can get it. Null when the group has none or its start failed.
   */
  async take(group: string): Promise<WarmContainer | null> {
    const slot = this.slots.get(group);
    if (!slot) return null;
    slot.taken = true;
    this.slots.delete(group);
    if (slot.timer) clearTimeout(slot.timer);
    const warm = await slot.ready;
    if (!warm) return null;
    // Claimed: its exit is the session's now, and its files go with the session's.
    slot.warm = null;
    return warm;
  }

  /** Ends an unclaimed (or refused) warm container: stdin closed, the entrypoint exits, it is removed. */
  end(warm: WarmContainer): void {
    // The entrypoint's "stdin ended" is how it is meant to end here, not an error worth a log line.
    if (!warm.sink.stdout) warm.sink.stderr = () => {};
    try {
      warm.container.release();
    } catch {
      // Already released: it is ending or ended.
    }
    const exited = warm.container.exited.finally(() => {
      this.deps.discard(warm);
      this.ending.delete(exited);
    });
    this.ending.add(exited);
  }

  list(): WarmView[] {
    return [...this.slots].map(([group, slot]) => ({
      group,
      container: slot.warm?.container.name ?? "",
      state: slot.warm ? "ready" : "starting",
      since: slot.since,
    }));
  }

  /** Ends every warm container and waits until they are gone (core stop). */
  async stop(): Promise<void> {
    this.stopped = true;
    const slots = [...this.slots.values()];
    this.slots.clear();
    for (const slot of slots) {
      if (slot.timer) clearTimeout(slot.timer);
      const warm = slot.warm;
      slot.warm = null;
      if (warm) this.end(warm);
    }
    // Those still starting end themselves once started (the slot is gone); wait for them too.
    await Promise.all(slots.map((s) => s.ready));
    await Promise.all([...this.ending]);
  }

  private expire(group: string, slot: Slot): void {
    if (this.slots.get(group) !== slot || !slot.warm) return;
    this.slots.delete(group);
    const warm = slot.warm;
    slot.warm = null;
    this.end(warm);
    // Too old to be claimed safely, but the group is still active: a fresh one takes its place.
    if (Date.now() < slot.activeUntil) this.refill(group, slot.activeUntil);
  }
}
