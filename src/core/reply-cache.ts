import type { ReplyFrame } from "../protocol/reply.ts";

type Slot = { hash: string; reply: ReplyFrame | null; waiters: Set<string> };

/**
 * Per-session memory of answered correlations (bounded, oldest evicted). A repeated correlation gets the
 * stored reply or joins the running call; the same correlation with a different request is refused.
 */
export class ReplyCache {
  private readonly slots = new Map<string, Slot>();
  constructor(private readonly capacity: number) {}

  lookup(
    correlation: string,
    hash: string,
  ): { kind: "new" } | { kind: "conflict" } | { kind: "running" } | { kind: "done"; reply: ReplyFrame } {
    const slot = this.slots.get(correlation);
    if (!slot) return { kind: "new" };
    if (slot.hash !== hash) return { kind: "conflict" };
    return slot.reply ? { kind: "done", reply: slot.reply } : { kind: "running" };
  }

  begin(correlation: string, hash: string): void {
    this.slots.set(correlation, { hash, reply: null, waiters: new Set() });
    while (this.slots.size > this.capacity) {
      const oldest = this.slots.keys().next().value as string;
      this.slots.delete(oldest);
    }
  }

  finish(correlation: string, reply: ReplyFrame): void {
    const slot = this.slots.get(correlation);
    if (slot) slot.reply = reply;
  }
}

export function requestHash(topic: string, args: unknown): string {
  return Bun.hash(`${topic}\u0000${JSON.stringify(args)}`).toString(16);
}
