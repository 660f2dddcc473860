/** Time as the scheduler sees it; tests pass one they move by hand (no real waiting). */
export interface Clock {
  now(): number;
  setTimer(ms: number, fn: () => void): unknown;
  clearTimer(handle: unknown): void;
}

/** Timers longer than this are re-armed: a host that slept or changed its clock is noticed within a minute. */
export const MAX_TIMER_MS = 60_000;

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer: (ms, fn) => setTimeout(fn, ms),
  clearTimer: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
