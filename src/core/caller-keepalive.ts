import { callerDeadline } from "../protocol/deadline-correlation.ts";
import type { Limits } from "../protocol/limits.ts";
import type { ReplyFrame } from "../protocol/reply.ts";

const HEARTBEAT_MS = 2_000;
/** How often the one heartbeat timer looks for calls that are due: beats go out 2 to 2.5 s apart. */
const TICK_MS = HEARTBEAT_MS / 4;
/** ipc's wait after a heartbeat: wait_ms plus this (src/ipc/call.ts). */
const HEARTBEAT_MARGIN_MS = 5_000;

type CallState = { state: "running" | "pending_confirmation"; waitMs: number; id?: string };

/**
 * The calls that are owed heartbeats, and the one timer that sends them. A call joins when it starts
 * and leaves when it ends, so a call that ends within two seconds (almost all) costs a set insertion
 * and removal instead of an interval of its own. The timer runs while calls are in flight and stops
 * at the first tick that finds none; it never holds the process open.
 */
class Heartbeats {
  private readonly due = new Set<CallerKeepalive>();
  private timer: ReturnType<typeof setInterval> | null = null;

  add(call: CallerKeepalive): void {
    this.due.add(call);
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref?.();
  }

  delete(call: CallerKeepalive): void {
    this.due.delete(call);
  }

  private tick(): void {
    if (this.due.size === 0) {
      clearInterval(this.timer as ReturnType<typeof setInterval>);
      this.timer = null;
      return;
    }
    const now = Date.now();
    for (const call of this.due) call.tick(now);
  }
}

const heartbeats = new Heartbeats();

/**
 * A waiting caller's side of a running call: a heartbeat every few seconds saying what the call is
 * doing and how long it may still take, and the deadline after which the caller has given up (from
 * the claim in its correlation, extended by every heartbeat it is sent: ipc waits wait_ms plus a
 * margin after each one). A call without a correlation cannot be told anything and gets no heartbeats.
 */
export class CallerKeepalive {
  private state: CallState;
  private deadline: number;
  /** When the next periodic heartbeat is due (epoch ms). */
  private nextBeat: number;

  constructor(
    private readonly correlation: string | null,
    receivedAt: number,
    limits: Pick<Limits, "handlerTimeoutMs" | "ipcTimeoutMs">,
    /** Sends a frame to the caller; false when its connection is gone. */
    private readonly send: (frame: ReplyFrame) => boolean,
    /** Told when a periodic heartbeat finds the caller gone. */
    private readonly onGone: () => void,
  ) {
    this.state = { state: "running", waitMs: limits.handlerTimeoutMs };
    this.deadline = callerDeadline(correlation, receivedAt, limits.ipcTimeoutMs);
    this.nextBeat = Date.now() + HEARTBEAT_MS;
    if (correlation !== null) heartbeats.add(this);
  }

  /** Epoch ms after which the caller no longer waits. */
  deadlineMs(): number {
    return this.deadline;
  }

  /** The heartbeat timer's turn: a beat when one is due; a caller found gone is told to `onGone` once. */
  tick(now: number): void {
    if (now < this.nextBeat) return;
    this.nextBeat = now + HEARTBEAT_MS;
    if (!this.beat()) {
      this.stop();
      this.onGone();
    }
  }

  /** Sends a heartbeat now; true when the caller's connection took it (or there is no one to tell). */
  beat(): boolean {
    if (this.correlation === null) return true;
    const sent = this.send({
      kind: "heartbeat",
      correlation: this.correlation,
      state: this.state.state,
      wait_ms: this.state.waitMs,
      ...(this.state.id ? { confirmation: this.state.id } : {}),
    });
    if (sent) this.deadline = Math.max(this.deadline, Date.now() + this.state.waitMs + HEARTBEAT_MARGIN_MS);
    return sent;
  }

  /** The call now waits for a person: the caller is told at once, and by every heartbeat after. */
  pendingConfirmation(id: string, waitMs: number): void {
    this.state = { state: "pending_confirmation", waitMs, id };
    this.beat();
  }

  stop(): void {
    heartbeats.delete(this);
  }
}
