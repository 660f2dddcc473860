import type { Clock } from "../../src/core/tasks/clock.ts";

/** A clock moved by hand: `advance` fires each timer at its own instant, in order, with no real waiting. */
export class FakeClock implements Clock {
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private seq = 0;
  constructor(private current: number) {}

  now(): number {
    return this.current;
  }

  setTimer(ms: number, fn: () => void): unknown {
    const id = ++this.seq;
    this.timers.push({ at: this.current + ms, fn, id });
    return id;
  }

  clearTimer(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }

  /** Moves time to `until`, firing every timer due on the way at its own time. */
  advanceTo(until: number): void {
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at || a.id - b.id);
      const next = this.timers[0];
      if (!next || next.at > until) break;
      this.timers.shift();
      this.current = Math.max(this.current, next.at);
      next.fn();
    }
    this.current = until;
  }

  advance(ms: number): void {
    this.advanceTo(this.current + ms);
  }

  /** Time jumps without any timer firing: the host was off (or asleep). */
  jump(ms: number): void {
    this.current += ms;
    this.timers = [];
  }
}
