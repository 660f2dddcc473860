import type { ReplyFrame } from "../protocol/reply.ts";

/** `owner` is the connection that sent the call first; `waiters` joined it later from other connections. */
type Slot = { hash: RequestHash; reply: ReplyFrame | null; owner: Uint8Array; waiters: Map<string, Uint8Array> | null };

/** Bounds what one session can make the core remember for a single running call. */
const MAX_WAITERS = 8;

/**
 * Per-session memory of answered correlations (bounded, oldest evicted). A repeated correlation gets the
 * stored reply or joins the running call; the same correlation with a different request is refused.
 * A resend on the caller's own connection is answered by the running call itself; one from another
 * connection is remembered and answered when the call finishes. Correlations are UUIDs, which the
 * validator accepts in either case, so the cache keys them lower-cased: `ABC…` is the same call as `abc…`.
 */
export class ReplyCache {
  private readonly slots = new Map<string, Slot>();
  constructor(private readonly capacity: number) {}

  lookup(
    correlation: string,
    hash: RequestHash,
  ): { kind: "new" } | { kind: "conflict" } | { kind: "running" } | { kind: "done"; reply: ReplyFrame } {
    const slot = this.slots.get(correlation.toLowerCase());
    if (!slot) return { kind: "new" };
    if (slot.hash !== hash) return { kind: "conflict" };
    return slot.reply ? { kind: "done", reply: slot.reply } : { kind: "running" };
  }

  begin(correlation: string, hash: RequestHash, peer: Uint8Array): void {
    this.slots.set(correlation.toLowerCase(), { hash, reply: null, owner: peer, waiters: null });
    while (this.slots.size > this.capacity) {
      const oldest = this.slots.keys().next().value as string;
      this.slots.delete(oldest);
    }
  }

  /** A repeat of a running call; true when it came from another connection and now waits for the reply. */
  join(correlation: string, peer: Uint8Array): boolean {
    const slot = this.slots.get(correlation.toLowerCase());
    if (!slot || slot.reply || Buffer.compare(peer, slot.owner) === 0 || (slot.waiters?.size ?? 0) >= MAX_WAITERS)
      return false;
    slot.waiters ??= new Map();
    slot.waiters.set(Buffer.from(peer).toString("hex"), peer);
    return true;
  }

  /** Stores the reply; returns the other connections that joined the call and still need it. */
  finish(correlation: string, reply: ReplyFrame): Uint8Array[] {
    const slot = this.slots.get(correlation.toLowerCase());
    if (!slot) return [];
    slot.reply = reply;
    if (!slot.waiters) return [];
    const waiters = [...slot.waiters.values()];
    slot.waiters = null;
    return waiters;
  }
}

/** A request's 64-bit hash, kept as the number it is (its hex text cost as much as the hash itself). */
export type RequestHash = bigint;

export function requestHash(topic: string, args: unknown): RequestHash {
  return Bun.hash.wyhash(`${topic}\u0000${JSON.stringify(args)}`);
}
