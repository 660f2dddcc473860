/** The agent's task tools: rate-limited per group, scoped to the caller's group, high risk where they change a schedule. */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AGENT_TASK_BURST, taskTools } from "../../../src/core/intrinsic/task-tools.ts";
import type { AuditEntry } from "../../../src/core/response/audit-record.ts";
import { Scheduler } from "../../../src/core/tasks/scheduler.ts";
import { checkPluginName } from "../../../src/plugins/manifest-check.ts";
import { reservedToolReason } from "../../../src/plugins/reserved.ts";
import { ToolError } from "../../../src/plugins/sdk/tool-error.ts";
import { closeAll } from "../../../src/storage/group-db.ts";
import { TaskStore } from "../../../src/storage/task-store.ts";
import { FakeClock } from "../../harness/fake-clock.ts";

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "carapace-task-tools-"));
});
afterEach(() => {
  closeAll();
  rmSync(root, { recursive: true, force: true });
});

function tools() {
  const clock = new FakeClock(Date.parse("2026-12-01T00:00:00Z"));
  const audit: AuditEntry[] = [];
  const scheduler = new Scheduler({
    store: new TaskStore(root),
    clock,
    launcher: { run: async () => ({ ok: true, answer: "" }) },
    publish: () => {},
    audit: (e) => audit.push(e),
    log: () => {},
  });
  scheduler.start();
  const byName = Object.fromEntries(taskTools(scheduler, { clock: () => clock.now() }).map((t) => [t.name, t]));
  return { clock, scheduler, byName, audit };
}

const context = (group: string) => ({
  group,
  sessionId: `s-${group}`,
  correlation: "c",
  timestamp: "",
  source: "agent",
});

describe("task tools", () => {
  test("creating a schedule and cancelling one are high risk; listing is low", () => {
    const { byName } = tools();
    expect(Object.fromEntries(Object.values(byName).map((t) => [t.name, t.risk_level]))).toEqual({
      "task.create": "high",
      "task.list": "low",
      "task.cancel": "high",
    });
  });

  test("a group's agents may create a burst of tasks, then are refused until the bucket refills", () => {
    const { byName, clock } = tools();
    const create = (group: string) =>
      byName["task.create"]?.invoke({ prompt: "p", every: "1h" }, context(group)) as { id: string };
    for (let i = 0; i < AGENT_TASK_BURST; i++) create("a");
    let refused: unknown;
    try {
      create("a");
    } catch (e) {
      refused = e;
    }
    expect(refused).toBeInstanceOf(ToolError);
    expect((refused as ToolError).code).toBe("TASK_RATE_LIMITED");
    // Another group has its own bucket; six minutes later this one has a token again.
    expect(create("b").id).toMatch(/^[0-9a-f]{16}$/);
    clock.jump(6 * 60_000);
    expect(create("a").id).toMatch(/^[0-9a-f]{16}$/);
  });

  test("a task an agent cancels says so in the audit, with its session and who had created it", () => {
    const { byName, scheduler, audit } = tools();
    const owners = scheduler.add({ group: "a", prompt: "the owner's brief", every: "1d" }, { by: "operator" });
    byName["task.cancel"]?.invoke({ id: owners.id }, context("a"));
    expect(audit.find((e) => e.topic === "task.removed")).toMatchObject({
      group: "a",
      session: "s-a",
      detail: { task: owners.id, removed_by: "agent", created_by: "operator" },
    });
  });

  test("a refusal of the scheduler reaches the agent as a ToolError with its fix", () => {
    const { byName } = tools();
    expect(() => byName["task.create"]?.invoke({ prompt: "p", at: "2020-01-01T00:00:00Z" }, context("a"))).toThrow(
      new ToolError(
        "TASK_REFUSED",
        "the time 2020-01-01T00:00:00.000Z is in the past. Fix: pass a time in the future with --at, or use --cron or --every for a repeating task.",
      ),
    );
  });

  test("the task namespace and the tasks data folder are the core's: no plugin may take them", () => {
    expect(reservedToolReason("task.create")).toBe('"task.create" is an intrinsic tool of the core');
    expect(reservedToolReason("task.anything")).toBe('the namespace "task" is reserved for the core');
    // A plugin's data folder is data/<plugin>: "tasks" would be every group's task database.
    expect(checkPluginName("tasks")).toMatchObject({ message: 'plugin name "tasks" is reserved' });
  });
});
