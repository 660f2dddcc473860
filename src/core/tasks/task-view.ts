import { UserError } from "../../errors/user-error.ts";
import type { RunRow, TaskRow } from "../../storage/task-store.ts";
import { describeSchedule, echoed, type Schedule } from "./schedule.ts";

/** Where a run's answer goes: the host log, or one chat of a channel plugin. */
export type Destination = { kind: "log" } | { kind: "channel"; channel: string; chat: string };

export function scheduleOf(row: TaskRow): Schedule {
  if (row.kind === "cron") return { kind: "cron", cron: row.cron ?? "", tz: row.tz ?? "UTC" };
  if (row.kind === "at") return { kind: "at", at: row.at_ms ?? 0, tz: row.tz ?? "UTC" };
  return { kind: "every", everyMs: row.every_ms ?? 0, anchor: row.anchor_ms ?? row.created_at };
}

export function destinationOf(row: TaskRow): Destination {
  try {
    const d = JSON.parse(row.destination) as Destination;
    if (d.kind === "channel" && typeof d.channel === "string" && typeof d.chat === "string") return d;
  } catch {
    // A destination that does not parse is delivered to the log.
  }
  return { kind: "log" };
}

const CHANNEL_DESTINATION = /^([a-z][a-z0-9_-]{0,31}):(-?[0-9]{1,20})$/;

/** `log`, or `<channel>:<chat id>` (e.g. `telegram:42`). */
export function parseDestination(text: string): Destination {
  if (text === "log") return { kind: "log" };
  const m = CHANNEL_DESTINATION.exec(text);
  if (!m)
    throw new UserError(
      "TASK",
      `invalid destination "${echoed(text, 64)}"`,
      "use log, or <channel>:<chat id> for a chat bound in config.toml (e.g. telegram:42)",
    );
  return { kind: "channel", channel: m[1] ?? "", chat: m[2] ?? "" };
}

export function describeDestination(d: Destination): string {
  return d.kind === "log" ? "log" : `${d.channel}:${d.chat}`;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** A task as the CLI and the agent tools show it. */
export function taskView(row: TaskRow, running: number) {
  return {
    id: row.id,
    group: row.group,
    prompt: row.prompt,
    schedule: describeSchedule(scheduleOf(row)),
    kind: row.kind,
    ...(row.cron !== null ? { cron: row.cron } : {}),
    ...(row.tz !== null ? { tz: row.tz } : {}),
    missed: row.missed_policy,
    overlap: row.allow_overlap === 1,
    destination: describeDestination(destinationOf(row)),
    status: row.status,
    created_at: iso(row.created_at),
    created_by: row.created_by,
    ...(row.created_session ? { created_session: row.created_session } : {}),
    next_run: iso(row.next_run_at),
    running,
  };
}

export type TaskView = ReturnType<typeof taskView>;

export function runView(run: RunRow) {
  return {
    run: run.id,
    task: run.task_id,
    trigger: run.trigger,
    scheduled_for: iso(run.scheduled_for),
    started_at: iso(run.started_at),
    finished_at: iso(run.finished_at),
    outcome: run.outcome,
    ...(run.missed_count > 0 ? { missed: run.missed_count } : {}),
    ...(run.answer !== null ? { answer: run.answer } : {}),
    ...(run.error !== null ? { error: run.error } : {}),
    ...(run.delivered_to !== null ? { delivered_to: run.delivered_to } : {}),
  };
}

export type RunView = ReturnType<typeof runView>;
