import { randomBytes } from "node:crypto";
import { UserError, whatOf } from "../../errors/user-error.ts";
import { GROUP_NAME } from "../../protocol/group-name.ts";
import type { RunTrigger, TaskRow, TaskStore } from "../../storage/task-store.ts";
import type { AuditEntry } from "../response/audit-record.ts";
import { sanitizeText } from "../response/sanitize.ts";
import { type Clock, MAX_TIMER_MS } from "./clock.ts";
import { echoed, firingsBetween, nextAfter, parseSchedule, type ScheduleInput } from "./schedule.ts";
import {
  type Destination,
  describeDestination,
  destinationOf,
  type RunView,
  runView,
  scheduleOf,
  type TaskView,
  taskView,
} from "./task-view.ts";

/** What a run of a task asks of the agent side: one session for the group, and how it ended. */
export interface SessionLauncher {
  run(request: {
    taskId: string;
    runId: number;
    group: string;
    prompt: string;
    /** Who wrote the prompt: an agent's is never the owner's instructions. */
    createdBy: TaskRow["created_by"];
  }): Promise<SessionOutcome>;
}
export interface SessionOutcome {
  ok: boolean;
  answer: string;
  error?: string | undefined;
}

export interface SchedulerDeps {
  store: TaskStore;
  clock: Clock;
  launcher: SessionLauncher;
  /** task.created on the core's event feed. */
  publish(topic: "task.created", group: string, session: string, payload: unknown): void;
  audit(entry: AuditEntry): void;
  /** The host log: where an answer with the default destination goes. */
  log(line: string): void;
  /** Chats of channel plugins, bound to groups in config.toml; absent: answers go to the log only. */
  channels?: ChannelPort | undefined;
}

export interface ChannelPort {
  /** The group a chat is bound to, or null when the channel has no such chat. */
  groupOf(channel: string, chat: string): string | null;
  send(channel: string, chat: string, text: string): Promise<void>;
}

export interface NewTask extends ScheduleInput {
  group: string;
  prompt: string;
  missed?: "run_once" | "skip" | undefined;
  overlap?: boolean | undefined;
  destination?: Destination | undefined;
}

export interface Creator {
  by: "operator" | "agent";
  session?: string | undefined;
}

/** A run that starts this late is a missed one (the core was down or the host slept): its policy decides. */
export const MISSED_GRACE_MS = 60_000;
export const MAX_TASKS_PER_GROUP = 100;
const MAX_PROMPT_CHARS = 100_000;
const MAX_ANSWER_CHARS = 64 * 1024;

function taskError(what: string, fix: string): UserError {
  return new UserError("TASK", what, fix);
}

function notFound(id: string): UserError {
  return taskError(`no task ${echoed(id, 40)}`, "list the tasks with `carapace task list`");
}

/**
 * Scheduled tasks: keeps them in the group's task database, fires each when due (one timer for the
 * earliest), applies the missed-run policy after downtime, never overlaps a task's runs unless it allows
 * it, records each run's outcome and delivers its answer to the task's destination only.
 */
export class Scheduler {
  /** id → group and when it next fires (null: paused or done). */
  private readonly index = new Map<string, { group: string; next: number | null }>();
  private readonly running = new Map<string, number>();
  private readonly inflight = new Set<Promise<void>>();
  private timer: unknown = null;
  private stopped = true;

  constructor(private readonly deps: SchedulerDeps) {}

  start(): void {
    const { store, clock } = this.deps;
    for (const group of store.groups()) {
      store.abandonRunning(group, clock.now(), "the core stopped during this run");
      for (const t of store.list(group))
        this.index.set(t.id, { group, next: t.status === "active" ? t.next_run_at : null });
    }
    this.stopped = false;
    this.tick();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) this.deps.clock.clearTimer(this.timer);
    this.timer = null;
  }

  /** Resolves once no run is in flight. */
  async idle(): Promise<void> {
    while (this.inflight.size > 0) await Promise.all([...this.inflight]);
  }

  add(spec: NewTask, creator: Creator): TaskView {
    const { store, clock } = this.deps;
    if (!GROUP_NAME.test(spec.group))
      throw taskError(
        `invalid group name "${echoed(spec.group, 40)}"`,
        "use lowercase [a-z0-9_-], at most 32 characters",
      );
    const prompt = spec.prompt;
    if (prompt.trim() === "" || prompt.length > MAX_PROMPT_CHARS)
      throw taskError(
        `the prompt is empty or longer than ${MAX_PROMPT_CHARS} characters`,
        "pass the task's prompt as text",
      );
    const now = clock.now();
    const schedule = parseSchedule(spec, now);
    if (store.countActive(spec.group) >= MAX_TASKS_PER_GROUP)
      throw taskError(
        `group ${spec.group} already has ${MAX_TASKS_PER_GROUP} tasks`,
        "remove some with `carapace task rm <id>`",
      );
    const destination = spec.destination ?? { kind: "log" };
    if (destination.kind === "channel") this.assertChatOf(spec.group, destination);
    const row: TaskRow = {
      id: randomBytes(8).toString("hex"),
      group: spec.group,
      prompt,
      kind: schedule.kind,
      cron: schedule.kind === "cron" ? schedule.cron : null,
      tz: schedule.kind === "every" ? null : schedule.tz,
      at_ms: schedule.kind === "at" ? schedule.at : null,
      every_ms: schedule.kind === "every" ? schedule.everyMs : null,
      anchor_ms: schedule.kind === "every" ? schedule.anchor : null,
      missed_policy: spec.missed ?? "run_once",
      allow_overlap: spec.overlap ? 1 : 0,
      destination: JSON.stringify(destination),
      status: "active",
      created_at: now,
      created_by: creator.by,
      created_session: creator.session ?? null,
      next_run_at: nextAfter(schedule, now),
    };
    store.insert(row);
    this.index.set(row.id, { group: row.group, next: row.next_run_at });
    const view = taskView(row, 0);
    this.deps.audit({
      kind: "event",
      outcome: "info",
      group: row.group,
      session: creator.session ?? null,
      topic: "task.created",
      detail: { task: row.id, schedule: view.schedule, created_by: creator.by, next_run: view.next_run },
    });
    this.deps.publish("task.created", row.group, creator.session ?? `task-${row.id}`, {
      task: row.id,
      schedule: view.schedule,
      created_by: creator.by,
      next_run: view.next_run,
    });
    this.arm();
    return view;
  }

  /** Every task, or one group's: the agent tools always pass their caller's group. */
  list(group?: string): TaskView[] {
    const groups = group === undefined ? this.deps.store.groups() : [group];
    return groups.flatMap((g) =>
      this.deps.store.groups().includes(g) ? this.deps.store.list(g).map((t) => taskView(t, this.runningOf(t.id))) : [],
    );
  }

  show(id: string, group?: string): TaskView & { runs: RunView[] } {
    const row = this.find(id, group);
    return { ...taskView(row, this.runningOf(id)), runs: this.deps.store.runs(row.group, id, 10).map(runView) };
  }

  runs(id: string, group?: string, limit = 50): RunView[] {
    const row = this.find(id, group);
    return this.deps.store.runs(row.group, id, limit).map(runView);
  }

  pause(id: string, group?: string): TaskView {
    const row = this.find(id, group);
    if (row.status === "done") throw taskError(`task ${id} has already run`, "add a new task");
    return this.setState(row, "paused", null);
  }

  resume(id: string, group?: string): TaskView {
    const row = this.find(id, group);
    if (row.status === "done") throw taskError(`task ${id} has already run`, "add a new task");
    // A one-shot keeps its time (past it, its missed-run policy applies); a repeating task goes on from now.
    const next = row.kind === "at" ? row.at_ms : nextAfter(scheduleOf(row), this.deps.clock.now());
    return this.setState(row, "active", next);
  }

  remove(id: string, group?: string, by: Creator = { by: "operator" }): { removed: string } {
    const row = this.find(id, group);
    this.deps.store.remove(row.group, id);
    this.index.delete(id);
    this.deps.audit({
      kind: "event",
      outcome: "info",
      group: row.group,
      session: by.session ?? null,
      topic: "task.removed",
      detail: { task: id, removed_by: by.by, created_by: row.created_by },
    });
    this.arm();
    return { removed: id };
  }

  /** Runs the task now, outside its schedule; refused while a run is in flight unless it allows overlap. */
  runNow(id: string, group?: string): { task: string; run: number } {
    const row = this.find(id, group);
    if (this.runningOf(id) > 0 && row.allow_overlap !== 1)
      throw taskError(
        `task ${id} is running now`,
        `wait for it to finish (\`carapace task runs ${id}\`), or add the task with --overlap`,
      );
    return { task: id, run: this.fire(row, "manual", null, 0) };
  }

  private runningOf(id: string): number {
    return this.running.get(id) ?? 0;
  }

  private find(id: string, group?: string): TaskRow {
    const entry = this.index.get(id);
    // A group given (an agent's own) must be the task's: another group's task does not exist for it.
    if (!entry || (group !== undefined && entry.group !== group)) throw notFound(id);
    const row = this.deps.store.get(entry.group, id);
    if (!row) throw notFound(id);
    return row;
  }

  private setState(row: TaskRow, status: TaskRow["status"], next: number | null): TaskView {
    this.deps.store.setState(row.group, row.id, status, next);
    this.index.set(row.id, { group: row.group, next: status === "active" ? next : null });
    this.arm();
    return taskView({ ...row, status, next_run_at: next }, this.runningOf(row.id));
  }

  private arm(): void {
    if (this.stopped) return;
    if (this.timer !== null) this.deps.clock.clearTimer(this.timer);
    this.timer = null;
    let earliest = Number.POSITIVE_INFINITY;
    for (const { next } of this.index.values()) if (next !== null && next < earliest) earliest = next;
    if (earliest === Number.POSITIVE_INFINITY) return;
    const wait = Math.min(Math.max(0, earliest - this.deps.clock.now()), MAX_TIMER_MS);
    this.timer = this.deps.clock.setTimer(wait, () => this.tick());
  }

  /** Fires every task that is due, then waits for the next one. */
  private tick(): void {
    this.timer = null;
    if (this.stopped) return;
    const now = this.deps.clock.now();
    for (const [id, { group, next }] of [...this.index]) {
      if (next === null || next > now) continue;
      const row = this.deps.store.get(group, id);
      if (row?.status !== "active" || row.next_run_at === null) continue;
      try {
        this.due(row, now);
      } catch (error) {
        this.deps.log(`[TASK] Error: task ${id} could not be run: ${sanitizeText((error as Error).message)}`);
        this.setState(row, "paused", null);
      }
    }
    this.arm();
  }

  private due(row: TaskRow, now: number): void {
    const schedule = scheduleOf(row);
    const scheduledFor = row.next_run_at ?? now;
    const next = nextAfter(schedule, Math.max(now, scheduledFor));
    // The state moves on first: a run that throws cannot make the same occurrence fire again.
    this.setState(row, next === null ? "done" : "active", next);
    if (now - scheduledFor <= MISSED_GRACE_MS) {
      this.fire(row, "schedule", scheduledFor, 0);
      return;
    }
    const missed = firingsBetween(schedule, scheduledFor, now);
    if (row.missed_policy === "run_once") {
      this.fire(row, "missed", scheduledFor, missed);
      return;
    }
    this.skip(
      row,
      "missed",
      scheduledFor,
      missed,
      `missed ${missed} time(s) while the core was not running (policy: skip)`,
    );
  }

  private skip(row: TaskRow, trigger: RunTrigger, scheduledFor: number | null, missed: number, why: string): number {
    const now = this.deps.clock.now();
    const run = this.deps.store.startRun(row.group, {
      task_id: row.id,
      trigger,
      scheduled_for: scheduledFor,
      started_at: now,
      finished_at: now,
      outcome: "skipped",
      missed_count: missed,
      error: why,
    });
    this.deps.audit({
      kind: "event",
      outcome: "info",
      group: row.group,
      topic: "task.run",
      detail: { task: row.id, run, trigger, outcome: "skipped", reason: why },
    });
    return run;
  }

  /** Starts one run (or records it skipped when the previous one is still going and overlap is off). */
  private fire(row: TaskRow, trigger: RunTrigger, scheduledFor: number | null, missed: number): number {
    if (this.runningOf(row.id) > 0 && row.allow_overlap !== 1)
      return this.skip(row, trigger, scheduledFor, missed, "the previous run was still running (overlap is off)");
    const { store, clock } = this.deps;
    const run = store.startRun(row.group, {
      task_id: row.id,
      trigger,
      scheduled_for: scheduledFor,
      started_at: clock.now(),
      outcome: "running",
      missed_count: missed,
    });
    this.running.set(row.id, this.runningOf(row.id) + 1);
    const done = this.deps.launcher
      .run({ taskId: row.id, runId: run, group: row.group, prompt: row.prompt, createdBy: row.created_by })
      .catch((error: unknown): SessionOutcome => ({ ok: false, answer: "", error: (error as Error).message }))
      .then((outcome) => this.finish(row, run, trigger, outcome))
      .catch((error: unknown) =>
        this.deps.log(`[TASK] Error: run ${run} of task ${row.id} was not recorded: ${sanitizeText(String(error))}`),
      )
      .finally(() => {
        this.running.set(row.id, Math.max(0, this.runningOf(row.id) - 1));
        this.inflight.delete(done);
      });
    this.inflight.add(done);
    return run;
  }

  /** A task's answer may go only to a chat bound to the task's own group. */
  private assertChatOf(group: string, d: Extract<Destination, { kind: "channel" }>): void {
    const bound = this.deps.channels?.groupOf(d.channel, d.chat) ?? null;
    if (bound !== group)
      throw taskError(
        bound === null
          ? `${describeDestination(d)} is not a chat of an enabled channel`
          : `${describeDestination(d)} is bound to group ${bound}, not ${group}`,
        `bind the chat to group ${group} in config.toml ([channels.${d.channel}.chats."${d.chat}"] group = "${group}"), or deliver to the log`,
      );
  }

  private async finish(row: TaskRow, run: number, trigger: RunTrigger, outcome: SessionOutcome): Promise<void> {
    const answer = outcome.ok ? sanitizeText(outcome.answer).slice(0, MAX_ANSWER_CHARS) : null;
    const error = outcome.ok ? null : sanitizeText(outcome.error ?? "the session failed").slice(0, 2_000);
    this.deps.store.finishRun(row.group, run, {
      outcome: outcome.ok ? "ok" : "error",
      finished_at: this.deps.clock.now(),
      answer,
      error,
    });
    let deliveredTo: string | null = null;
    if (answer !== null) {
      deliveredTo = await this.deliver(row, run, answer);
      this.deps.store.markDelivered(row.group, run, deliveredTo);
    }
    this.deps.audit({
      kind: "event",
      outcome: outcome.ok ? "ok" : "error",
      group: row.group,
      topic: "task.run",
      detail: {
        task: row.id,
        run,
        trigger,
        outcome: outcome.ok ? "ok" : "error",
        ...(error ? { error } : {}),
        ...(deliveredTo ? { delivered_to: deliveredTo } : {}),
      },
    });
  }

  /** The answer goes to the task's destination and nowhere else; what it reached is returned. */
  private async deliver(row: TaskRow, run: number, answer: string): Promise<string> {
    const destination = destinationOf(row);
    if (destination.kind === "channel") {
      const to = describeDestination(destination);
      try {
        // Checked again at delivery: the binding may have changed since the task was added.
        this.assertChatOf(row.group, destination);
        await this.deps.channels?.send(destination.channel, destination.chat, answer || "(empty answer)");
        this.deps.log(`[TASK] task ${row.id} run ${run} answered; delivered to ${to}`);
        return to;
      } catch (error) {
        const why = echoed(sanitizeText(whatOf(error)), 300);
        this.deps.log(`[TASK] Error: task ${row.id} run ${run} was not delivered to ${to}: ${why}`);
        return `${to} (not delivered: ${why})`;
      }
    }
    const lines = answer.split(/\r?\n/).filter((l) => l.trim() !== "");
    for (const line of lines.length > 0 ? lines : ["(empty answer)"])
      this.deps.log(`[TASK] task ${row.id} run ${run} answered: ${line}`);
    return describeDestination(destination);
  }
}
