import { Cron } from "croner";
import { UserError } from "../../errors/user-error.ts";
import { singleLine } from "../response/terminal-text.ts";

/** When a task runs: a cron expression read in an IANA zone, one instant, or a fixed interval. */
export type Schedule =
  | { kind: "cron"; cron: string; tz: string }
  | { kind: "at"; at: number; tz: string }
  | { kind: "every"; everyMs: number; anchor: number };

/** What a person or an agent asks for, before it is checked. */
export interface ScheduleInput {
  cron?: string | undefined;
  at?: string | undefined;
  every?: string | undefined;
  tz?: string | undefined;
}

export const MIN_INTERVAL_MS = 60_000;
const MAX_INTERVAL_MS = 366 * 24 * 3_600_000;
const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})?$/;
const HAS_OFFSET = /(Z|[+-]\d{2}:\d{2})$/;
const WALL_CLOCK = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?/;

/** Date.parse and croner roll a 30 February or a 24:00 over into the next day; a person meant no such time. */
function isRealTime(text: string): boolean {
  const [, y, mo, d, h, mi, s] = (WALL_CLOCK.exec(text) ?? []).map(Number);
  if (y === undefined || mo === undefined || d === undefined || h === undefined || mi === undefined) return false;
  const daysInMonth = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  return (
    mo >= 1 && mo <= 12 && d >= 1 && d <= daysInMonth && h <= 23 && mi <= 59 && (Number.isNaN(s) || (s ?? 0) <= 59)
  );
}

/** What someone typed, as an error message repeats it: on one line, terminal escapes removed, cut. */
export function echoed(text: string, max: number): string {
  return singleLine(text).slice(0, max);
}

/** croner reads any run of whitespace (tabs, line breaks) as one space: the stored expression says so too. */
function singleSpaced(cron: string): string {
  return cron.trim().split(/\s+/).join(" ");
}

function taskError(what: string, fix: string): UserError {
  return new UserError("TASK", what, fix);
}

/** The host's own zone: a task made without --tz keeps the zone it was made in, even if the host's changes. */
export function hostZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

export function assertZone(tz: string): string {
  try {
    // Throws RangeError for a name that is not an IANA zone.
    return new Intl.DateTimeFormat("en-US", { timeZone: tz }).resolvedOptions().timeZone;
  } catch {
    throw taskError(`unknown time zone "${echoed(tz, 64)}"`, 'use an IANA zone name such as "Europe/Berlin" or "UTC"');
  }
}

function cronOf(expr: string, tz: string): Cron {
  return new Cron(expr, { timezone: tz, paused: true, mode: "5-part" });
}

/** `30m` → 1 800 000; at least a minute, at most a year. */
export function parseInterval(text: string): number {
  const m = /^([1-9]\d{0,6})([smhd])$/.exec(text.trim());
  const ms = m ? Number(m[1]) * (UNIT_MS[m[2] ?? ""] ?? 0) : Number.NaN;
  if (!Number.isFinite(ms) || ms < MIN_INTERVAL_MS || ms > MAX_INTERVAL_MS)
    throw taskError(
      `invalid interval "${echoed(text, 32)}"`,
      "use a number and a unit (s, m, h, d), at least 1m and at most 366d, e.g. --every 30m",
    );
  return ms;
}

/** An ISO time as an instant; one without an offset is wall-clock time in `tz`. */
export function parseInstant(text: string, tz: string): number {
  const invalid = () =>
    taskError(
      `invalid time "${echoed(text, 40)}"`,
      "use an ISO time such as 2026-12-24T08:00 (read in --tz) or 2026-12-24T08:00:00Z",
    );
  if (!ISO_TIME.test(text) || !isRealTime(text)) throw invalid();
  if (HAS_OFFSET.test(text)) {
    const ms = Date.parse(text);
    if (!Number.isFinite(ms)) throw invalid();
    return ms;
  }
  try {
    const at = cronOf(text, tz).nextRun(new Date(0));
    if (!at) throw invalid();
    return at.getTime();
  } catch {
    throw invalid();
  }
}

/** Checks what was asked and turns it into a schedule; `now` decides whether a one-shot is in the past. */
export function parseSchedule(input: ScheduleInput, now: number): Schedule {
  const given = [input.cron, input.at, input.every].filter((v) => v !== undefined);
  if (given.length !== 1)
    throw taskError(
      "a task needs exactly one of --cron, --at and --every",
      'e.g. --cron "0 8 * * 1-5" --tz Europe/Berlin',
    );
  const tz = assertZone(input.tz ?? hostZone());
  if (input.cron !== undefined) {
    try {
      // croner also takes an ISO time as a pattern: that is what --at is for.
      if (ISO_TIME.test(input.cron) || cronOf(input.cron, tz).nextRun(new Date(now)) === null)
        throw new Error("not a repeating cron expression");
    } catch {
      throw taskError(
        `invalid cron expression "${echoed(input.cron, 64)}"`,
        'use five fields: minute hour day-of-month month day-of-week, e.g. "0 8 * * 1-5"',
      );
    }
    return { kind: "cron", cron: singleSpaced(input.cron), tz };
  }
  if (input.at !== undefined) {
    const at = parseInstant(input.at, tz);
    if (at <= now)
      throw taskError(
        `the time ${new Date(at).toISOString()} is in the past`,
        "pass a time in the future with --at, or use --cron or --every for a repeating task",
      );
    return { kind: "at", at, tz };
  }
  return { kind: "every", everyMs: parseInterval(input.every ?? ""), anchor: now };
}

/** The first time strictly after `from` the schedule fires, or null when it never fires again. */
export function nextAfter(schedule: Schedule, from: number): number | null {
  switch (schedule.kind) {
    case "cron":
      return cronOf(schedule.cron, schedule.tz).nextRun(new Date(from))?.getTime() ?? null;
    case "at":
      return schedule.at > from ? schedule.at : null;
    case "every": {
      const steps = Math.floor((from - schedule.anchor) / schedule.everyMs) + 1;
      return schedule.anchor + Math.max(1, steps) * schedule.everyMs;
    }
  }
}

/** How many times the schedule would have fired in [first, until], counting `first`; capped. */
export function firingsBetween(schedule: Schedule, first: number, until: number, cap = 10_000): number {
  let count = 0;
  for (let t: number | null = first; t !== null && t <= until && count < cap; t = nextAfter(schedule, t)) count++;
  return count;
}

/** One line a person reads: `cron 0 8 * * 1-5 (Europe/Berlin)`, `at 2026-…Z`, `every 30m`. */
export function describeSchedule(schedule: Schedule): string {
  switch (schedule.kind) {
    case "cron":
      return `cron ${schedule.cron} (${schedule.tz})`;
    case "at":
      return `at ${new Date(schedule.at).toISOString()}`;
    case "every": {
      const [unit, ms] = Object.entries(UNIT_MS)
        .reverse()
        .find(([, ms]) => schedule.everyMs % ms === 0) ?? ["s", 1000];
      return `every ${schedule.everyMs / ms}${unit}`;
    }
  }
}
