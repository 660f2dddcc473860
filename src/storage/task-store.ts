import type { Database } from "bun:sqlite";
import { lstatSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { type Migration, openGroupDb } from "./group-db.ts";
import { isValidStorageName } from "./names.ts";

/** One scheduled task as stored: the schedule's fields are the core's to interpret. */
export interface TaskRow {
  id: string;
  group: string;
  prompt: string;
  kind: "cron" | "at" | "every";
  cron: string | null;
  tz: string | null;
  at_ms: number | null;
  every_ms: number | null;
  anchor_ms: number | null;
  missed_policy: "run_once" | "skip";
  allow_overlap: number;
  /** JSON: {"kind":"log"} or {"kind":"channel","channel":…,"chat":…}. */
  destination: string;
  status: "active" | "paused" | "done";
  created_at: number;
  created_by: "operator" | "agent";
  created_session: string | null;
  next_run_at: number | null;
}

export type RunTrigger = "schedule" | "missed" | "manual";
export type RunOutcome = "running" | "ok" | "error" | "skipped";

export interface RunRow {
  id: number;
  task_id: string;
  trigger: RunTrigger;
  scheduled_for: number | null;
  started_at: number;
  finished_at: number | null;
  outcome: RunOutcome;
  missed_count: number;
  answer: string | null;
  error: string | null;
  delivered_to: string | null;
}

const FEATURE = "tasks";

const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: "scheduled tasks and their runs",
    up: `
      CREATE TABLE tasks (
        id TEXT PRIMARY KEY,
        prompt TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('cron', 'at', 'every')),
        cron TEXT,
        tz TEXT,
        at_ms INTEGER,
        every_ms INTEGER,
        anchor_ms INTEGER,
        missed_policy TEXT NOT NULL CHECK (missed_policy IN ('run_once', 'skip')),
        allow_overlap INTEGER NOT NULL DEFAULT 0,
        destination TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('active', 'paused', 'done')),
        created_at INTEGER NOT NULL,
        created_by TEXT NOT NULL CHECK (created_by IN ('operator', 'agent')),
        created_session TEXT,
        next_run_at INTEGER
      );
      CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        task_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
        trigger TEXT NOT NULL CHECK (trigger IN ('schedule', 'missed', 'manual')),
        scheduled_for INTEGER,
        started_at INTEGER NOT NULL,
        finished_at INTEGER,
        outcome TEXT NOT NULL CHECK (outcome IN ('running', 'ok', 'error', 'skipped')),
        missed_count INTEGER NOT NULL DEFAULT 0,
        answer TEXT,
        error TEXT,
        delivered_to TEXT
      );
      CREATE INDEX runs_by_task ON runs(task_id, id);
    `,
  },
];

const TASK_COLUMNS =
  "id, prompt, kind, cron, tz, at_ms, every_ms, anchor_ms, missed_policy, allow_overlap, destination, status, created_at, created_by, created_session, next_run_at";

/**
 * Scheduled tasks, one SQLite database per group (`data/tasks/<group>.sqlite`): a group's tasks and runs
 * are in its own file, so no query of one group can reach another's. Every statement binds its values.
 */
export class TaskStore {
  constructor(private readonly dataRoot: string) {}

  private db(group: string): Database {
    return openGroupDb({ dataRoot: this.dataRoot, feature: FEATURE, group, migrations: MIGRATIONS });
  }

  /** The groups that have a task database. */
  groups(): string[] {
    let names: string[];
    try {
      names = readdirSync(join(this.dataRoot, FEATURE));
    } catch {
      return [];
    }
    return names
      .filter((n) => n.endsWith(".sqlite"))
      .map((n) => n.slice(0, -".sqlite".length))
      .filter((g) => isValidStorageName(g) && lstatSync(join(this.dataRoot, FEATURE, `${g}.sqlite`)).isFile())
      .sort();
  }

  insert(row: TaskRow): void {
    this.db(row.group)
      .query(
        `INSERT INTO tasks (${TASK_COLUMNS}) VALUES ($id, $prompt, $kind, $cron, $tz, $at_ms, $every_ms, $anchor_ms, $missed_policy, $allow_overlap, $destination, $status, $created_at, $created_by, $created_session, $next_run_at)`,
      )
      .run({
        id: row.id,
        prompt: row.prompt,
        kind: row.kind,
        cron: row.cron,
        tz: row.tz,
        at_ms: row.at_ms,
        every_ms: row.every_ms,
        anchor_ms: row.anchor_ms,
        missed_policy: row.missed_policy,
        allow_overlap: row.allow_overlap,
        destination: row.destination,
        status: row.status,
        created_at: row.created_at,
        created_by: row.created_by,
        created_session: row.created_session,
        next_run_at: row.next_run_at,
      });
  }

  list(group: string): TaskRow[] {
    return this.db(group)
      .query<Omit<TaskRow, "group">, []>(`SELECT ${TASK_COLUMNS} FROM tasks ORDER BY created_at, id`)
      .all()
      .map((r) => ({ ...r, group }));
  }

  get(group: string, id: string): TaskRow | null {
    const row = this.db(group)
      .query<Omit<TaskRow, "group">, { id: string }>(`SELECT ${TASK_COLUMNS} FROM tasks WHERE id = $id`)
      .get({ id });
    return row ? { ...row, group } : null;
  }

  countActive(group: string): number {
    const row = this.db(group).query<{ n: number }, []>("SELECT count(*) AS n FROM tasks WHERE status != 'done'").get();
    return row?.n ?? 0;
  }

  setState(group: string, id: string, status: TaskRow["status"], nextRunAt: number | null): void {
    this.db(group)
      .query("UPDATE tasks SET status = $status, next_run_at = $next WHERE id = $id")
      .run({ id, status, next: nextRunAt });
  }

  remove(group: string, id: string): boolean {
    return this.db(group).query("DELETE FROM tasks WHERE id = $id").run({ id }).changes > 0;
  }

  startRun(
    group: string,
    run: Pick<RunRow, "task_id" | "trigger" | "scheduled_for" | "started_at" | "outcome" | "missed_count"> &
      Partial<Pick<RunRow, "error" | "finished_at">>,
  ): number {
    const result = this.db(group)
      .query(
        "INSERT INTO runs (task_id, trigger, scheduled_for, started_at, finished_at, outcome, missed_count, error) VALUES ($task, $trigger, $scheduled, $started, $finished, $outcome, $missed, $error)",
      )
      .run({
        task: run.task_id,
        trigger: run.trigger,
        scheduled: run.scheduled_for,
        started: run.started_at,
        finished: run.finished_at ?? null,
        outcome: run.outcome,
        missed: run.missed_count,
        error: run.error ?? null,
      });
    return Number(result.lastInsertRowid);
  }

  finishRun(
    group: string,
    id: number,
    end: { outcome: RunOutcome; finished_at: number; answer: string | null; error: string | null },
  ): void {
    this.db(group)
      .query(
        "UPDATE runs SET outcome = $outcome, finished_at = $finished, answer = $answer, error = $error WHERE id = $id",
      )
      .run({ id, outcome: end.outcome, finished: end.finished_at, answer: end.answer, error: end.error });
  }

  markDelivered(group: string, id: number, to: string): void {
    this.db(group).query("UPDATE runs SET delivered_to = $to WHERE id = $id").run({ id, to });
  }

  runs(group: string, taskId: string, limit = 50): RunRow[] {
    return this.db(group)
      .query<RunRow, { task: string; limit: number }>(
        "SELECT * FROM (SELECT * FROM runs WHERE task_id = $task ORDER BY id DESC LIMIT $limit) ORDER BY id",
      )
      .all({ task: taskId, limit });
  }

  /** Runs a stopped or crashed core left as running: they did not finish, and say so. */
  abandonRunning(group: string, now: number, why: string): number {
    return this.db(group)
      .query("UPDATE runs SET outcome = 'error', finished_at = $now, error = $why WHERE outcome = 'running'")
      .run({ now, why }).changes;
  }
}
