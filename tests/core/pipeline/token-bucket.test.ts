import { describe, expect, test } from "bun:test";
import { TokenBucketLimiter, takeAll } from "../../../src/core/pipeline/token-bucket.ts";

function fakeClock(start = 1_000_000) {
  let now = start;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
}

describe("TokenBucketLimiter", () => {
  test("a new key starts with a full burst, then is refused with a whole-second retry_after", () => {
    const clock = fakeClock();
    const limiter = new TokenBucketLimiter({ ratePerMinute: 60, burst: 10, clock: clock.now });
    for (let i = 0; i < 10; i++) expect(limiter.take("s1")).toEqual({ ok: true });
    expect(limiter.take("s1")).toEqual({ ok: false, retryAfterSec: 1 });
    expect(limiter.available("s1")).toBe(0);
  });

  test("retry_after is rounded up to whole seconds and is at least 1", () => {
    const clock = fakeClock();
    const limiter = new TokenBucketLimiter({ ratePerMinute: 6, burst: 1, clock: clock.now });
    expect(limiter.take("k").ok).toBe(true);
    expect(limiter.take("k")).toEqual({ ok: false, retryAfterSec: 10 });
    clock.advance(9_001);
    expect(limiter.take("k")).toEqual({ ok: false, retryAfterSec: 1 });
    clock.advance(998);
    expect(limiter.take("k")).toEqual({ ok: false, retryAfterSec: 1 });
    clock.advance(1);
    expect(limiter.take("k")).toEqual({ ok: true });
  });

  test("keys are independent", () => {
    const clock = fakeClock();
    const limiter = new TokenBucketLimiter({ ratePerMinute: 60, burst: 1, clock: clock.now });
    expect(limiter.take("a").ok).toBe(true);
    expect(limiter.take("a").ok).toBe(false);
    expect(limiter.take("b").ok).toBe(true);
  });

  test("refill never exceeds the burst", () => {
    const clock = fakeClock();
    const limiter = new TokenBucketLimiter({ ratePerMinute: 60, burst: 3, clock: clock.now });
    limiter.take("k");
    clock.advance(3_600_000);
    expect(limiter.available("k")).toBe(3);
  });

  test("a clock that goes backwards neither refills nor breaks the bucket", () => {
    const clock = fakeClock();
    const limiter = new TokenBucketLimiter({ ratePerMinute: 60, burst: 1, clock: clock.now });
    expect(limiter.take("k").ok).toBe(true);
    clock.advance(-10_000);
    expect(limiter.take("k").ok).toBe(false);
    clock.advance(11_000);
    expect(limiter.take("k").ok).toBe(true);
  });

  test("per-key configuration overrides the default", () => {
    const limiter = new TokenBucketLimiter({
      ratePerMinute: 60,
      burst: 1,
      clock: () => 0,
      configFor: (key) => (key.startsWith("group:") ? { ratePerMinute: 600, burst: 5 } : undefined),
    });
    let admitted = 0;
    while (limiter.take("group:work").ok) admitted++;
    expect(admitted).toBe(5);
  });

  test("invalid configuration is refused with a fix", () => {
    expect(() => new TokenBucketLimiter({ ratePerMinute: 0, burst: 10 })).toThrow(/\[RATE\] Error: .*Fix:/);
    expect(() => new TokenBucketLimiter({ ratePerMinute: 60, burst: 0 })).toThrow(/burst/);
    expect(() => new TokenBucketLimiter({ ratePerMinute: 60, burst: 1.5 })).toThrow();
  });
});

describe("flood accuracy at the boundary (exact with a fake clock)", () => {
  for (const { rate, burst, elapsedMs } of [
    { rate: 60, burst: 10, elapsedMs: 60_000 },
    { rate: 60, burst: 10, elapsedMs: 12_345 },
    { rate: 1000, burst: 1, elapsedMs: 7_777 },
    { rate: 7, burst: 3, elapsedMs: 120_001 },
  ]) {
    test(`rate ${rate}/min burst ${burst} over ${elapsedMs} ms`, () => {
      const clock = fakeClock();
      const limiter = new TokenBucketLimiter({ ratePerMinute: rate, burst, clock: clock.now });
      let admitted = 0;
      // A flood: 5 attempts every millisecond.
      for (let t = 0; t <= elapsedMs; t++) {
        for (let i = 0; i < 5; i++) if (limiter.take("flooder").ok) admitted++;
        if (t < elapsedMs) clock.advance(1);
      }
      expect(admitted).toBe(burst + Math.floor((rate * elapsedMs) / 60_000));
    });
  }
});

describe("takeBoth / takeAll: session and group together", () => {
  test("takes from both only when both have a token", () => {
    const clock = fakeClock();
    const sessions = new TokenBucketLimiter({ ratePerMinute: 60, burst: 5, clock: clock.now });
    const groups = new TokenBucketLimiter({ ratePerMinute: 60, burst: 2, clock: clock.now });
    const claim = (s: string) =>
      takeAll(
        [
          { limiter: sessions, key: s },
          { limiter: groups, key: "work" },
        ],
        clock.now(),
      );
    expect(claim("s1").ok).toBe(true);
    expect(claim("s2").ok).toBe(true);
    // Group empty: the session bucket must not be charged for the refused call.
    expect(claim("s1")).toEqual({ ok: false, retryAfterSec: 1 });
    expect(sessions.available("s1")).toBe(4);
    expect(sessions.available("s2")).toBe(4);
  });

  test("retry_after covers the slowest bucket", () => {
    const clock = fakeClock();
    const sessions = new TokenBucketLimiter({ ratePerMinute: 60, burst: 1, clock: clock.now });
    const groups = new TokenBucketLimiter({ ratePerMinute: 6, burst: 1, clock: clock.now });
    const claims = [
      { limiter: sessions, key: "s" },
      { limiter: groups, key: "g" },
    ];
    expect(takeAll(claims, clock.now()).ok).toBe(true);
    expect(takeAll(claims, clock.now())).toEqual({ ok: false, retryAfterSec: 10 });
  });

  test("takeBoth on one limiter, and the same key twice needs two tokens", () => {
    const limiter = new TokenBucketLimiter({ ratePerMinute: 60, burst: 3, clock: () => 0 });
    expect(limiter.takeBoth("session:a", "group:g").ok).toBe(true);
    expect(limiter.takeBoth("k", "k").ok).toBe(true);
    expect(limiter.available("k")).toBe(1);
    expect(limiter.takeBoth("k", "k").ok).toBe(false);
    expect(limiter.available("k")).toBe(1);
  });
});

describe("bounded key map", () => {
  test("full idle buckets are evicted first; a bucket in use survives", () => {
    const clock = fakeClock();
    const limiter = new TokenBucketLimiter({ ratePerMinute: 60, burst: 2, maxKeys: 100, clock: clock.now });
    for (let i = 0; i < 99; i++) limiter.take(`idle-${i}`);
    limiter.take("busy");
    limiter.take("busy");
    // One second later the idle buckets are full again; "busy" has 1 of 2 tokens.
    clock.advance(1_000);
    for (let i = 0; i < 99; i++) limiter.take(`new-${i}`);
    expect(limiter.size).toBe(100);
    expect(limiter.available("busy")).toBe(1);
  });

  test("the map never exceeds maxKeys under a flood of distinct keys", () => {
    const limiter = new TokenBucketLimiter({ ratePerMinute: 60, burst: 1, maxKeys: 50, clock: () => 0 });
    for (let i = 0; i < 10_000; i++) limiter.take(`k${i}`);
    expect(limiter.size).toBe(50);
  });

  test("session and group claimed together: neither map exceeds maxKeys under a flood of distinct sessions", () => {
    const sessions = new TokenBucketLimiter({ ratePerMinute: 60, burst: 1, maxKeys: 50, clock: () => 0 });
    const groups = new TokenBucketLimiter({ ratePerMinute: 60, burst: 100_000, maxKeys: 5, clock: () => 0 });
    for (let i = 0; i < 10_000; i++)
      takeAll(
        [
          { limiter: sessions, key: `s${i}` },
          { limiter: groups, key: `g${i % 7}` },
        ],
        0,
      );
    expect(sessions.size).toBe(50);
    expect(groups.size).toBe(5);
  });

  test("a drained bucket is kept even when it is the least recently used", () => {
    const clock = fakeClock();
    const limiter = new TokenBucketLimiter({
      ratePerMinute: 1,
      burst: 1,
      maxKeys: 3,
      clock: clock.now,
      configFor: (key) => (key.startsWith("fast") ? { ratePerMinute: 60_000, burst: 1 } : undefined),
    });
    expect(limiter.take("drained").ok).toBe(true);
    limiter.take("fast-1");
    limiter.take("fast-2");
    clock.advance(10);
    limiter.take("newcomer");
    expect(limiter.size).toBe(2);
    expect(limiter.take("drained")).toEqual({ ok: false, retryAfterSec: 60 });
  });

  test("delete forgets a key", () => {
    const limiter = new TokenBucketLimiter({ ratePerMinute: 60, burst: 1, clock: () => 0 });
    limiter.take("s");
    limiter.delete("s");
    expect(limiter.size).toBe(0);
    expect(limiter.take("s").ok).toBe(true);
  });
});
