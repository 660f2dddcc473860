import { callerDeadline } from "../protocol/deadline-correlation.ts";
import type { Limits } from "../protocol/limits.ts";
import type { ReplyFrame } from "../protocol/reply.ts";

const HEARTBEAT_MS = 2_000;
/** ipc's wait after a heartbeat: wait_ms plus this (src/ipc/call.ts). */
const HEARTBEAT_MARGIN_MS = 5_000;

type CallState = { state: "running" | "pending_confirmation"; waitMs: number; id?: string };

/**
 * A waiting caller's side of a running call: a heartbeat every few seconds saying what the call is
 * doing and how long it may still take, and the deadline after which the caller has given up (from
 * the claim in its correlation, extended by every heartbeat it is sent: ipc waits wait_ms plus a
 * margin after each one). A call without a correlation cannot be told anything and gets no heartbeats.
 */
export class CallerKeepalive {
  private state: CallState;
  private deadline: number;
  private readonly timer: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly correlation: string | null,
    receivedAt: number,
    limits: Pick<Limits, "handlerTimeoutMs" | "ipcTimeoutMs">,
    /** Sends a frame to the caller; false when its connection is gone. */
    private readonly send: (frame: ReplyFrame) => boolean,
    /** Told when a periodic heartbeat finds the caller gone. */
    onGone: () => void,
  ) {
    this.state = { state: "running", waitMs: limits.handlerTimeoutMs };
    this.deadline = callerDeadline(correlation, receivedAt, limits.ipcTimeoutMs);
    if (correlation !== null) {
      this.timer = setInterval(() => {
        if (!this.beat()) onGone();
      }, HEARTBEAT_MS);
    }
  }

  /** Epoch ms after which the caller no longer waits. */
  deadlineMs(): number {
    return this.deadline;
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
    if (this.timer) clearInterval(this.timer);
  }
}
