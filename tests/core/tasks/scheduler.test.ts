/** The scheduler against real SQLite files and a clock moved by hand: time zones, DST, downtime, overlap. */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AuditEntry } from "../../../src/core/response/audit-record.ts";
import { type NewTask, Scheduler, type SessionOutcome } from "../../../src/core/tasks/scheduler.ts";
import { UserError } from "../../../src/errors/user-error.ts";
import { closeAll } from "../../../src/storage/group-db.ts";
import { TaskStore } from "../../../src/storage/task-store.ts";
import { FakeClock } from "../../harness/fake-clock.ts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const t = (iso: string) => Date.parse(iso);

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "carapace-tasks-"));
});
afterEach(() => {
  closeAll();
  rmSync(root, { recursive: true, force: true });
});

/** A scheduler whose sessions are recorded; each stays running until the test answers it. */
/** Chats bound to groups, as config.toml would bind them; what was sent to each is recorded. */
const BOUND: Record<string, string> = { "telegram:42": "home", "telegram:-1001": "family" };
const sentToChats: { to: string; text: string }[] = [];
let chatFails: string | null = null;

function rig(start: string, clock = new FakeClock(t(start))) {
  const launched: { at: string; group: string; prompt: string; taskId: string; runId: number; createdBy: string }[] =
    [];
  const pending: ((o: SessionOutcome) => void)[] = [];
  const audit: AuditEntry[] = [];
  const log: string[] = [];
  const published: { topic: string; group: string; payload: unknown }[] = [];
  const store = new TaskStore(root);
  const scheduler = new Scheduler({
    store,
    clock,
    launcher: {
      run: (r) => {
        launched.push({ ...r, at: new Date(clock.now()).toISOString() });
        return new Promise((resolve) => pending.push(resolve));
      },
    },
    publish: (topic, group, _session, payload) => published.push({ topic, group, payload }),
    audit: (e) => audit.push(e),
    log: (l) => log.push(l),
    channels: {
      groupOf: (channel, chat) => BOUND[`${channel}:${chat}`] ?? null,
      send: async (channel, chat, text) => {
        if (chatFails) throw new Error(chatFails);
        sentToChats.push({ to: `${channel}:${chat}`, text });
      },
    },
  });
  scheduler.start();
  /** Answers every running session with `outcome`, then waits for the scheduler to record it. */
  const answerAll = async (outcome: SessionOutcome = { ok: true, answer: "done" }) => {
    for (const r of pending.splice(0)) r(outcome);
    await scheduler.idle();
  };
  return { clock, scheduler, store, launched, audit, log, published, answerAll };
}

const cronTask = (cron: string, tz: string, extra: Partial<NewTask> = {}): NewTask => ({
  group: "g",
  prompt: "the morning brief",
  cron,
  tz,
  ...extra,
});

/** Runs each session as soon as it starts, for `days`, and returns the UTC instants it fired at. */
async function firings(r: ReturnType<typeof rig>, until: string): Promise<string[]> {
  while (r.clock.now() < t(until)) {
    r.clock.advance(Math.min(HOUR, t(until) - r.clock.now()));
    await r.answerAll();
  }
  return r.launched.map((l) => l.at);
}

describe("cron in a time zone", () => {
  test("Europe/Berlin, spring forward: 08:00 on weekdays stays 08:00 local (07:00Z in winter, 06:00Z in summer)", async () => {
    const r = rig("2026-03-26T12:00:00Z");
    r.scheduler.add(cronTask("0 8 * * 1-5", "Europe/Berlin"), { by: "operator" });
    expect(await firings(r, "2026-03-31T12:00:00Z")).toEqual([
      "2026-03-27T07:00:00.000Z", // Friday, CET
      "2026-03-30T06:00:00.000Z", // Monday, CEST (clocks went forward on Sunday the 29th)
      "2026-03-31T06:00:00.000Z",
    ]);
  });

  test("Europe/Berlin, spring forward: a time inside the skipped hour runs once that day, after the jump", async () => {
    const r = rig("2026-03-28T12:00:00Z");
    r.scheduler.add(cronTask("30 2 * * *", "Europe/Berlin"), { by: "operator" });
    expect(await firings(r, "2026-03-31T00:00:00Z")).toEqual([
      "2026-03-29T01:00:00.000Z", // 02:30 does not exist on the 29th: 03:00 CEST
      "2026-03-30T00:30:00.000Z", // 02:30 CEST
    ]);
  });

  test("Europe/Berlin, fall back: a time inside the repeated hour runs once, not twice", async () => {
    const r = rig("2026-10-24T12:00:00Z");
    r.scheduler.add(cronTask("30 2 * * *", "Europe/Berlin"), { by: "operator" });
    expect(await firings(r, "2026-10-27T00:00:00Z")).toEqual([
      "2026-10-25T00:30:00.000Z", // the first 02:30 (CEST); the second (01:30Z, CET) does not fire
      "2026-10-26T01:30:00.000Z", // 02:30 CET
    ]);
  });

  test("America/New_York across both transitions: 08:00 local each day", async () => {
    const spring = rig("2026-03-07T00:00:00Z");
    spring.scheduler.add(cronTask("0 8 * * *", "America/New_York"), { by: "operator" });
    expect(await firings(spring, "2026-03-09T18:00:00Z")).toEqual([
      "2026-03-07T13:00:00.000Z", // EST
      "2026-03-08T12:00:00.000Z", // EDT from 02:00 on the 8th
      "2026-03-09T12:00:00.000Z",
    ]);
    closeAll();
    rmSync(root, { recursive: true, force: true });
    root = mkdtempSync(join(tmpdir(), "carapace-tasks-"));
    const fall = rig("2026-10-31T00:00:00Z");
    fall.scheduler.add(cronTask("0 8 * * *", "America/New_York"), { by: "operator" });
    expect(await firings(fall, "2026-11-02T18:00:00Z")).toEqual([
      "2026-10-31T12:00:00.000Z", // EDT
      "2026-11-01T13:00:00.000Z", // EST from 02:00 on the 1st
      "2026-11-02T13:00:00.000Z",
    ]);
  });

  test("Asia/Kolkata (UTC+05:30) and Australia/Adelaide (UTC+10:30, then +09:30)", async () => {
    const r = rig("2026-04-03T00:00:00Z");
    r.scheduler.add(cronTask("0 8 * * *", "Asia/Kolkata"), { by: "operator" });
    r.scheduler.add(cronTask("0 9 * * *", "Australia/Adelaide", { group: "au" }), { by: "operator" });
    await firings(r, "2026-04-06T12:00:00Z");
    const by = (group: string) => r.launched.filter((l) => l.group === group).map((l) => l.at);
    expect(by("g")).toEqual([
      "2026-04-03T02:30:00.000Z",
      "2026-04-04T02:30:00.000Z",
      "2026-04-05T02:30:00.000Z",
      "2026-04-06T02:30:00.000Z",
    ]);
    // 09:00 on Saturday 4 April is ACDT (+10:30); Adelaide leaves daylight time at 03:00 on Sunday the 5th.
    expect(by("au")).toEqual(["2026-04-03T22:30:00.000Z", "2026-04-04T23:30:00.000Z", "2026-04-05T23:30:00.000Z"]);
  });
});

describe("what is refused", () => {
  test("a one-shot in the past is refused with a fix, and nothing is stored", () => {
    const r = rig("2026-12-01T12:00:00Z");
    let thrown: unknown;
    try {
      r.scheduler.add({ group: "g", prompt: "p", at: "2026-12-01T11:59:00Z" }, { by: "operator" });
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(UserError);
    expect((thrown as Error).message).toBe(
      "[TASK] Error: the time 2026-12-01T11:59:00.000Z is in the past. Fix: pass a time in the future with --at, or use --cron or --every for a repeating task.",
    );
    expect(r.scheduler.list()).toEqual([]);
    expect(r.published).toEqual([]);
  });

  test("a cron expression with tabs and line breaks is kept single-spaced: `task list` shows it on one line", () => {
    const r = rig("2026-12-01T12:00:00Z");
    const view = r.scheduler.add({ group: "g", prompt: "p", cron: " 0\t8\n*  * *\r\n", tz: "UTC" }, { by: "agent" });
    expect(view).toMatchObject({ cron: "0 8 * * *", schedule: "cron 0 8 * * * (UTC)" });
    expect(r.scheduler.list("g")[0]?.schedule).toBe("cron 0 8 * * * (UTC)");
  });

  test("what was typed is repeated in an error on one line, without its terminal escapes", () => {
    const r = rig("2026-12-01T12:00:00Z");
    const refusal = (spec: Partial<NewTask>, id?: string) => {
      try {
        if (id !== undefined) r.scheduler.show(id);
        else r.scheduler.add({ group: "g", prompt: "p", ...spec }, { by: "operator" });
      } catch (e) {
        return (e as Error).message;
      }
      throw new Error("not refused");
    };
    const hostile = "\u001b]0;owned\u0007\u001b[2J\nfake line\u009b31m";
    const messages = [
      refusal({ group: hostile, every: "1h" }),
      refusal({ cron: `0 8 * * * ${hostile}`, tz: "UTC" }),
      refusal({ every: hostile }),
      refusal({ at: hostile, tz: "UTC" }),
      refusal({ every: "1h", tz: hostile }),
      refusal({}, hostile),
    ];
    for (const m of messages) {
      expect(m).toStartWith("[TASK] Error: ");
      // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for control characters is the point.
      expect(m).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
    }
    expect(messages[0]).toContain("fake line");
  });

  test("a date that does not exist (30 February, 24:00) is refused, not rolled over into another day", () => {
    const r = rig("2026-12-01T12:00:00Z");
    const add = (at: string) =>
      r.scheduler.add({ group: "g", prompt: "p", at, tz: "Europe/Berlin" }, { by: "operator" });
    for (const at of [
      "2027-02-30T08:00",
      "2027-02-29T08:00Z",
      "2027-04-31T08:00",
      "2027-01-01T24:00Z",
      "2027-01-01T08:00:60",
    ])
      expect(() => add(at)).toThrow(`[TASK] Error: invalid time "${at}".`);
    expect(r.scheduler.list()).toEqual([]);
    expect(add("2028-02-29T08:00").next_run).toBe("2028-02-29T07:00:00.000Z");
    expect(add("2027-12-31T23:59:59Z").next_run).toBe("2027-12-31T23:59:59.000Z");
  });

  test("a one-shot without an offset is read in its zone; one in the future is kept", () => {
    const r = rig("2026-12-01T12:00:00Z");
    const view = r.scheduler.add(
      { group: "g", prompt: "p", at: "2026-12-01T20:00", tz: "Asia/Kolkata" },
      { by: "operator" },
    );
    expect(view.next_run).toBe("2026-12-01T14:30:00.000Z");
    expect(() =>
      r.scheduler.add({ group: "g", prompt: "p", at: "2026-12-01T14:00", tz: "America/New_York" }, { by: "operator" }),
    ).not.toThrow();
    expect(() =>
      r.scheduler.add({ group: "g", prompt: "p", at: "2026-12-01T16:00", tz: "Asia/Kolkata" }, { by: "operator" }),
    ).toThrow(/is in the past/);
  });

  test.each([
    [{ cron: "0 8 * * *", every: "30m" }, /exactly one of --cron, --at and --every/],
    [{ cron: "* * * * * *" }, /invalid cron expression/],
    [{ cron: "2027-01-01T00:00:00" }, /invalid cron expression/],
    [{ cron: "0 8 * * *", tz: "Mars/Olympus" }, /unknown time zone/],
    [{ every: "10s" }, /invalid interval/],
    [{ at: "tomorrow" }, /invalid time/],
  ])("%o is refused", (schedule, message) => {
    const r = rig("2026-12-01T12:00:00Z");
    expect(() => r.scheduler.add({ group: "g", prompt: "p", ...schedule }, { by: "operator" })).toThrow(message);
  });
});

describe("missed runs after downtime", () => {
  async function downtime(missed: "run_once" | "skip") {
    const first = rig("2026-12-01T00:00:00Z");
    const task = first.scheduler.add({ group: "g", prompt: "hourly", every: "1h", missed }, { by: "operator" });
    first.clock.advance(HOUR);
    await first.answerAll();
    expect(first.launched).toHaveLength(1);
    first.scheduler.stop();
    // The host is off for five hours and ten minutes: the runs at 02:00 … 06:00 are missed.
    first.clock.jump(5 * HOUR + 10 * 60_000);
    const second = rig("", first.clock);
    await second.answerAll();
    return { task, second };
  }

  test("run_once: one run for everything missed, then the schedule goes on from now", async () => {
    const { task, second } = await downtime("run_once");
    expect(second.launched.map((l) => l.at)).toEqual(["2026-12-01T06:10:00.000Z"]);
    const runs = second.scheduler.runs(task.id);
    expect(runs.at(-1)).toMatchObject({
      trigger: "missed",
      outcome: "ok",
      missed: 5,
      scheduled_for: "2026-12-01T02:00:00.000Z",
    });
    expect(second.scheduler.show(task.id).next_run).toBe("2026-12-01T07:00:00.000Z");
    second.clock.advance(HOUR);
    await second.answerAll();
    expect(second.launched.map((l) => l.at)).toEqual(["2026-12-01T06:10:00.000Z", "2026-12-01T07:00:00.000Z"]);
  });

  test("skip: nothing runs for what was missed; the skip is recorded; the next run is on time", async () => {
    const { task, second } = await downtime("skip");
    expect(second.launched).toEqual([]);
    expect(second.scheduler.runs(task.id).at(-1)).toMatchObject({
      trigger: "missed",
      outcome: "skipped",
      missed: 5,
      error: "missed 5 time(s) while the core was not running (policy: skip)",
    });
    expect(second.scheduler.show(task.id).next_run).toBe("2026-12-01T07:00:00.000Z");
  });

  test("a one-shot missed while down runs once (run_once) or is skipped (skip), and is then done", async () => {
    for (const missed of ["run_once", "skip"] as const) {
      const first = rig("2026-12-01T00:00:00Z");
      const task = first.scheduler.add(
        { group: `one-${missed.replace("_", "-")}`, prompt: "p", at: "2026-12-01T01:00:00Z", missed },
        { by: "operator" },
      );
      first.scheduler.stop();
      first.clock.jump(3 * HOUR);
      const second = rig("", first.clock);
      await second.answerAll();
      expect(second.launched).toHaveLength(missed === "run_once" ? 1 : 0);
      expect(second.scheduler.show(task.id)).toMatchObject({ status: "done", next_run: null });
    }
  });

  test("a run the core was in the middle of when it stopped is recorded as not finished", async () => {
    const first = rig("2026-12-01T00:00:00Z");
    const task = first.scheduler.add({ group: "g", prompt: "p", every: "1h" }, { by: "operator" });
    first.clock.advance(HOUR);
    first.scheduler.stop();
    const second = rig("", first.clock);
    expect(second.scheduler.runs(task.id)[0]).toMatchObject({
      outcome: "error",
      error: "the core stopped during this run",
    });
  });
});

describe("runs", () => {
  test("never overlap: a run due while the previous one runs is recorded as skipped", async () => {
    const r = rig("2026-12-01T00:00:00Z");
    const task = r.scheduler.add({ group: "g", prompt: "slow", every: "1m" }, { by: "operator" });
    r.clock.advance(3 * 60_000);
    expect(r.launched).toHaveLength(1);
    expect(r.scheduler.runs(task.id).map((x) => x.outcome)).toEqual(["running", "skipped", "skipped"]);
    expect(r.scheduler.runs(task.id)[1]?.error).toBe("the previous run was still running (overlap is off)");
    expect(() => r.scheduler.runNow(task.id)).toThrow(/is running now/);
    await r.answerAll();
    r.clock.advance(60_000);
    expect(r.launched).toHaveLength(2);
  });

  test("overlap when the task allows it", async () => {
    const r = rig("2026-12-01T00:00:00Z");
    r.scheduler.add({ group: "g", prompt: "slow", every: "1m", overlap: true }, { by: "operator" });
    r.clock.advance(3 * 60_000);
    expect(r.launched).toHaveLength(3);
    await r.answerAll();
  });

  test("each outcome is kept; the answer goes to the log once, a failure's error is recorded and not delivered", async () => {
    const r = rig("2026-12-01T00:00:00Z");
    const task = r.scheduler.add({ group: "g", prompt: "p", every: "1h" }, { by: "operator" });
    r.clock.advance(HOUR);
    await r.answerAll({ ok: true, answer: "Good morning.\nThree meetings today." });
    r.clock.advance(HOUR);
    await r.answerAll({ ok: false, answer: "", error: "the agent exited with code 1" });
    const runs = r.scheduler.runs(task.id);
    expect(runs.map((x) => [x.outcome, x.answer ?? null, x.error ?? null, x.delivered_to ?? null])).toEqual([
      ["ok", "Good morning.\nThree meetings today.", null, "log"],
      ["error", null, "the agent exited with code 1", null],
    ]);
    expect(r.log).toEqual([
      `[TASK] task ${task.id} run ${runs[0]?.run} answered: Good morning.`,
      `[TASK] task ${task.id} run ${runs[0]?.run} answered: Three meetings today.`,
    ]);
    expect(r.audit.filter((a) => a.topic === "task.run").map((a) => a.outcome)).toEqual(["ok", "error"]);
  });

  test("pause stops a task firing; resume goes on from now; rm removes it", async () => {
    const r = rig("2026-12-01T00:00:00Z");
    const task = r.scheduler.add({ group: "g", prompt: "p", every: "1h" }, { by: "operator" });
    r.scheduler.pause(task.id);
    r.clock.advance(3 * HOUR + 60_000);
    expect(r.launched).toEqual([]);
    expect(r.scheduler.resume(task.id).next_run).toBe("2026-12-01T04:00:00.000Z");
    r.clock.advance(HOUR);
    await r.answerAll();
    expect(r.launched).toHaveLength(1);
    r.scheduler.remove(task.id);
    r.clock.advance(DAY);
    expect(r.launched).toHaveLength(1);
    expect(() => r.scheduler.show(task.id)).toThrow(/no task/);
  });

  test("task.created is published and audited with who created the task", () => {
    const r = rig("2026-12-01T00:00:00Z");
    const task = r.scheduler.add({ group: "g", prompt: "p", every: "1h" }, { by: "agent", session: "s1" });
    expect(r.published).toEqual([
      {
        topic: "task.created",
        group: "g",
        payload: { task: task.id, schedule: "every 1h", created_by: "agent", next_run: "2026-12-01T01:00:00.000Z" },
      },
    ]);
    expect(r.audit.find((a) => a.topic === "task.created")).toMatchObject({
      group: "g",
      session: "s1",
      detail: { created_by: "agent" },
    });
    expect(r.scheduler.list("g")[0]).toMatchObject({ created_by: "agent", created_session: "s1" });
  });

  test("each run tells the session side who wrote the prompt: an agent's task is never run as the owner's", async () => {
    const r = rig("2026-12-01T00:00:00Z");
    r.scheduler.add({ group: "g", prompt: "by the agent", every: "1h" }, { by: "agent", session: "s1" });
    r.scheduler.add({ group: "g", prompt: "by the owner", every: "1h" }, { by: "operator" });
    r.clock.advance(HOUR);
    await r.answerAll();
    expect(r.launched.map((l) => [l.prompt, l.createdBy])).toEqual([
      ["by the agent", "agent"],
      ["by the owner", "operator"],
    ]);
  });
});

describe("a channel destination", () => {
  beforeEach(() => {
    sentToChats.length = 0;
    chatFails = null;
  });

  test("the answer goes to the task's chat only, not to the log or any other chat", async () => {
    const r = rig("2026-12-01T00:00:00Z");
    const task = r.scheduler.add(
      { group: "home", prompt: "p", every: "1h", destination: { kind: "channel", channel: "telegram", chat: "42" } },
      { by: "operator" },
    );
    expect(task.destination).toBe("telegram:42");
    r.clock.advance(HOUR);
    await r.answerAll({ ok: true, answer: "Your brief." });
    expect(sentToChats).toEqual([{ to: "telegram:42", text: "Your brief." }]);
    expect(r.log.join("\n")).not.toContain("Your brief.");
    expect(r.scheduler.runs(task.id)[0]).toMatchObject({ outcome: "ok", delivered_to: "telegram:42" });
  });

  test("a chat bound to another group, or to no group, is refused when the task is added", () => {
    const r = rig("2026-12-01T00:00:00Z");
    const add = (chat: string) =>
      r.scheduler.add(
        { group: "home", prompt: "p", every: "1h", destination: { kind: "channel", channel: "telegram", chat } },
        { by: "operator" },
      );
    expect(() => add("-1001")).toThrow(
      '[TASK] Error: telegram:-1001 is bound to group family, not home. Fix: bind the chat to group home in config.toml ([channels.telegram.chats."-1001"] group = "home"), or deliver to the log.',
    );
    expect(() => add("7")).toThrow("telegram:7 is not a chat of an enabled channel");
    expect(r.scheduler.list()).toEqual([]);
  });

  test("a failed delivery is recorded on the run and logged without the answer; nobody else gets it", async () => {
    const r = rig("2026-12-01T00:00:00Z");
    const task = r.scheduler.add(
      { group: "home", prompt: "p", every: "1h", destination: { kind: "channel", channel: "telegram", chat: "42" } },
      { by: "operator" },
    );
    chatFails = "no running plugin delivers to channel telegram";
    r.clock.advance(HOUR);
    await r.answerAll({ ok: true, answer: "Secret plans." });
    expect(sentToChats).toEqual([]);
    expect(r.scheduler.runs(task.id)[0]?.delivered_to).toBe(
      "telegram:42 (not delivered: no running plugin delivers to channel telegram)",
    );
    expect(r.log.join("\n")).not.toContain("Secret plans.");
  });

  test("why a delivery failed is recorded on one line without terminal escapes (`task runs` prints it)", async () => {
    const r = rig("2026-12-01T00:00:00Z");
    const task = r.scheduler.add(
      { group: "home", prompt: "p", every: "1h", destination: { kind: "channel", channel: "telegram", chat: "42" } },
      { by: "operator" },
    );
    chatFails = "Bad Request\u001b[2J\u001b]0;owned\u0007\n#2  schedule  ok  fake run";
    r.clock.advance(HOUR);
    await r.answerAll({ ok: true, answer: "hi" });
    expect(r.scheduler.runs(task.id)[0]?.delivered_to).toBe(
      "telegram:42 (not delivered: Bad Request #2  schedule  ok  fake run)",
    );
    // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for control characters is the point.
    expect(r.log.join("\n")).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/);
  });
});

describe("groups", () => {
  test("a task of another group does not exist for a caller scoped to its own group", () => {
    const r = rig("2026-12-01T00:00:00Z");
    const theirs = r.scheduler.add({ group: "b", prompt: "p", every: "1h" }, { by: "operator" });
    r.scheduler.add({ group: "a", prompt: "mine", every: "1h" }, { by: "operator" });
    expect(r.scheduler.list("a").map((x) => x.prompt)).toEqual(["mine"]);
    expect(() => r.scheduler.remove(theirs.id, "a")).toThrow(/no task/);
    expect(() => r.scheduler.show(theirs.id, "a")).toThrow(/no task/);
    expect(r.scheduler.list("b")).toHaveLength(1);
  });

  test("each group's tasks are in the group's own database file", () => {
    const r = rig("2026-12-01T00:00:00Z");
    r.scheduler.add({ group: "a", prompt: "p", every: "1h" }, { by: "operator" });
    r.scheduler.add({ group: "b", prompt: "p", every: "1h" }, { by: "operator" });
    expect(r.store.groups()).toEqual(["a", "b"]);
    expect(r.store.list("a")).toHaveLength(1);
  });
});
