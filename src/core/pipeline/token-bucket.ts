/**
 * Token buckets for stage 4 (per session and per group, default 60/min, burst 10).
 *
 * Levels are kept in integer "token-milliseconds per minute" units (one token = 60 000 units, a bucket
 * refills `ratePerMinute` units per millisecond), so with a millisecond clock the arithmetic is exact:
 * over `t` ms a flood is admitted exactly `burst + floor(rate * t / 60 000)` times.
 */
export interface BucketConfig {
  ratePerMinute: number;
  burst: number;
}

export type TakeResult = { ok: true } | { ok: false; retryAfterSec: number };

export interface TokenBucketOptions extends BucketConfig {
  /** Upper bound on tracked keys; full (idle) buckets are evicted first. */
  maxKeys?: number;
  /** Milliseconds; defaults to Date.now. */
  clock?: () => number;
  /** Per-key override (e.g. a group's own limit); falls back to the limiter's config. */
  configFor?: (key: string) => BucketConfig | undefined;
}

const UNITS_PER_TOKEN = 60_000;

export interface Bucket {
  units: number;
  last: number;
  capacity: number;
  rate: number;
}

export class TokenBucketLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly defaults: BucketConfig;
  private readonly maxKeys: number;
  private readonly clock: () => number;
  private readonly configFor: (key: string) => BucketConfig | undefined;

  constructor(options: TokenBucketOptions) {
    validateConfig(options);
    this.defaults = { ratePerMinute: options.ratePerMinute, burst: options.burst };
    this.maxKeys = Math.max(1, options.maxKeys ?? 10_000);
    this.clock = options.clock ?? Date.now;
    this.configFor = options.configFor ?? (() => undefined);
  }

  /** Takes one token for `key`, or says how many whole seconds until one is available. */
  take(key: string, now: number = this.clock()): TakeResult {
    return takeAll([{ limiter: this, key }], now);
  }

  /** Takes one token from each of two buckets, or from neither (e.g. session and group). */
  takeBoth(keyA: string, keyB: string, now: number = this.clock()): TakeResult {
    return takeAll(
      [
        { limiter: this, key: keyA },
        { limiter: this, key: keyB },
      ],
      now,
    );
  }

  /** Whole tokens available right now, without taking any (and without tracking a new key). */
  available(key: string, now: number = this.clock()): number {
    const bucket = this.buckets.get(key);
    if (bucket === undefined) return (this.configFor(key) ?? this.defaults).burst;
    return Math.floor(refilledUnits(bucket, now) / UNITS_PER_TOKEN);
  }

  /** Forgets a key (e.g. when its session ends). */
  delete(key: string): void {
    this.buckets.delete(key);
  }

  get size(): number {
    return this.buckets.size;
  }

  /**
   * @internal Refilled buckets for `keys` (created full on first use), for takeAll. Room is made for
   * all of them before any is fetched, so eviction can never detach a bucket this call returns.
   */
  prepare(keys: readonly string[], now: number): Bucket[] {
    const fresh = new Set(keys.filter((k) => !this.buckets.has(k))).size;
    if (fresh > 0 && this.buckets.size + fresh > this.maxKeys)
      this.evict(now, this.buckets.size + fresh - this.maxKeys);
    return keys.map((key) => this.refill(key, now));
  }

  private refill(key: string, now: number): Bucket {
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      const config = this.configFor(key) ?? this.defaults;
      validateConfig(config);
      const capacity = config.burst * UNITS_PER_TOKEN;
      bucket = { units: capacity, last: now, capacity, rate: config.ratePerMinute };
    } else {
      this.buckets.delete(key);
      bucket.units = refilledUnits(bucket, now);
      bucket.last = Math.max(bucket.last, now);
    }
    // Map order = least recently used first, for eviction.
    this.buckets.set(key, bucket);
    return bucket;
  }

  /** Drops every full bucket (a full bucket equals a fresh one), then least recently used ones if needed. */
  private evict(now: number, atLeast: number): void {
    let removed = 0;
    for (const [key, bucket] of this.buckets) {
      if (refilledUnits(bucket, now) >= bucket.capacity) {
        this.buckets.delete(key);
        removed++;
      }
    }
    for (const key of this.buckets.keys()) {
      if (removed >= atLeast) break;
      this.buckets.delete(key);
      removed++;
    }
  }
}

function refilledUnits(bucket: Bucket, now: number): number {
  if (now <= bucket.last) return bucket.units;
  return Math.min(bucket.capacity, bucket.units + (now - bucket.last) * bucket.rate);
}

export interface BucketClaim {
  limiter: TokenBucketLimiter;
  key: string;
}

/**
 * Atomic take across buckets: a token is taken from every bucket only if every bucket has one;
 * otherwise nothing is taken and `retryAfterSec` covers the slowest bucket.
 */
export function takeAll(claims: readonly BucketClaim[], now: number): TakeResult {
  // Each limiter prepares its keys once, in the order the limiters first appear. Plain loops: this runs
  // on every call, with two claims.
  const buckets: Bucket[] = [];
  const limiters: TokenBucketLimiter[] = [];
  for (const claim of claims) {
    if (limiters.includes(claim.limiter)) continue;
    limiters.push(claim.limiter);
    const keys: string[] = [];
    for (const c of claims) if (c.limiter === claim.limiter) keys.push(c.key);
    for (const b of claim.limiter.prepare(keys, now)) buckets.push(b);
  }
  let waitMs = 0;
  for (let i = 0; i < buckets.length; i++) {
    const b = buckets[i] as Bucket;
    if (buckets.indexOf(b) !== i) continue;
    // The same bucket named twice must hold one token per claim.
    let claimsOnIt = 0;
    for (const x of buckets) if (x === b) claimsOnIt++;
    const needed = claimsOnIt * UNITS_PER_TOKEN;
    if (b.units < needed) waitMs = Math.max(waitMs, (needed - b.units) / b.rate);
  }
  if (waitMs > 0) return { ok: false, retryAfterSec: Math.max(1, Math.ceil(waitMs / 1000)) };
  for (const b of buckets) b.units -= UNITS_PER_TOKEN;
  return { ok: true };
}

function validateConfig(config: BucketConfig): void {
  const { ratePerMinute, burst } = config;
  if (!Number.isFinite(ratePerMinute) || ratePerMinute <= 0 || !Number.isInteger(burst) || burst < 1) {
    throw new Error(
      `[RATE] Error: invalid rate limit (rate ${ratePerMinute}/min, burst ${burst}). Fix: use a rate above 0 and a whole burst of at least 1.`,
    );
  }
}
