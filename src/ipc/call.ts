import { deadlineCorrelation } from "../protocol/deadline-correlation.ts";
import { DEFAULT_LIMITS } from "../protocol/limits.ts";
import type { ReplyFrame } from "../protocol/reply.ts";
import { BlockingDealer } from "../transport/blocking-dealer.ts";

export type CallOutcome =
  | { kind: "result"; result: unknown }
  | { kind: "error"; error: unknown }
  | { kind: "transport"; message: string };

/** Silence after which the same request (same correlation) is sent again. */
export const RESEND_AFTER_MS = 5_000;
const decoder = new TextDecoder();

/** 35000 → "35", 600 → "0.6": whole seconds stay whole, a sub-second timeout is not rounded to a lie. */
function formatSeconds(ms: number): string {
  const seconds = ms / 1000;
  return Number.isInteger(seconds) ? String(seconds) : seconds.toFixed(1);
}

/** What a call needs from its socket and clock; the default is a real BlockingDealer and real time. */
export interface CallIo {
  openDealer(endpoint: string): {
    send(payload: string): boolean;
    receive(timeoutMs: number): Uint8Array[] | null;
    close(): void;
  };
  now(): number;
}

const REAL_IO: CallIo = { openDealer: (endpoint) => new BlockingDealer(endpoint), now: () => performance.now() };

/**
 * One request/reply exchange. A reply lost in transit is retried with the same correlation; the core
 * answers a repeated correlation from its reply cache (or joins the running call), so nothing runs twice.
 * Heartbeats from the core (a call pending confirmation, a long handler) extend the wait.
 */
export function callCore(
  socketPath: string,
  topic: string,
  args: Record<string, unknown>,
  timeoutMs: number,
  // A seam for unit tests (tests/harness/fake-transport.ts): a scripted peer on a virtual clock.
  io: CallIo = REAL_IO,
): CallOutcome {
  // The correlation carries the send time and timeout: the core does not start a call this caller gave up on.
  const correlation = deadlineCorrelation(timeoutMs);
  const message = JSON.stringify({ topic, correlation, arguments: args });
  const dealer = io.openDealer(`ipc://${socketPath}`);
  try {
    let deadline = io.now() + timeoutMs;
    dealer.send(message);
    let lastHeard = io.now();
    for (;;) {
      const now = io.now();
      if (now >= deadline) return { kind: "transport", message: `no reply within ${formatSeconds(timeoutMs)} s` };
      const frames = dealer.receive(Math.min(deadline - now, RESEND_AFTER_MS));
      if (!frames) {
        if (io.now() - lastHeard >= RESEND_AFTER_MS) {
          dealer.send(message);
          lastHeard = io.now();
        }
        continue;
      }
      lastHeard = io.now();
      const reply = parseReply(frames[0]);
      if (!reply || reply.correlation !== correlation) continue;
      if (reply.kind === "result") return { kind: "result", result: reply.result };
      if (reply.kind === "error") return { kind: "error", error: reply.error };
      const waitMs = typeof reply.wait_ms === "number" ? reply.wait_ms : DEFAULT_LIMITS.ipcTimeoutMs;
      deadline = Math.max(deadline, io.now() + Math.min(waitMs, 3_600_000) + 5_000);
    }
  } finally {
    dealer.close();
  }
}

function parseReply(frame: Uint8Array | undefined): ReplyFrame | null {
  if (!frame) return null;
  try {
    const value = JSON.parse(decoder.decode(frame)) as ReplyFrame;
    return typeof value === "object" && value !== null && typeof value.kind === "string" ? value : null;
  } catch {
    return null;
  }
}
