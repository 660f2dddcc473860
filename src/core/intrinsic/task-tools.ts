import { fixOf, UserError, whatOf } from "../../errors/user-error.ts";
import type { ToolEntry } from "../../plugins/catalog.ts";
import { ToolError } from "../../plugins/sdk/tool-error.ts";
import { TokenBucketLimiter } from "../pipeline/token-bucket.ts";
import type { Scheduler } from "../tasks/scheduler.ts";

/** A group's agents may create this many tasks at once, then one every six minutes (10 an hour). */
export const AGENT_TASK_BURST = 5;
const AGENT_TASKS_PER_MINUTE = 10 / 60;

const always = () => true;

/** A scheduler refusal keeps its words for the agent; anything else stays generic (dispatch decides). */
function asToolError(error: unknown): unknown {
  if (error instanceof UserError) return new ToolError("TASK_REFUSED", `${whatOf(error)} Fix: ${fixOf(error, "")}`);
  return error;
}

function guarded<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw asToolError(error);
  }
}

/**
 * task.create, task.list and task.cancel: an agent schedules work for its own group. The group is the
 * caller's session's (host state); no argument names one. Creating and cancelling are high risk: the
 * owner approves each through the approvals.
 */
export function taskTools(scheduler: Scheduler, options: { clock?: () => number } = {}): ToolEntry[] {
  const creations = new TokenBucketLimiter({
    ratePerMinute: AGENT_TASKS_PER_MINUTE,
    burst: AGENT_TASK_BURST,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  return [
    {
      name: "task.create",
      description:
        "Schedules a prompt to run later as a session of this group: exactly one of cron (5 fields, with tz, an IANA zone), " +
        "at (an ISO time) or every (e.g. 30m). The owner approves each new schedule.",
      risk_level: "high",
      plugin: "core",
      allowed_groups: ["*"],
      available: always,
      arguments_schema: {
        type: "object",
        properties: {
          prompt: { type: "string", minLength: 1, maxLength: 10_000 },
          cron: { type: "string", minLength: 1, maxLength: 100 },
          at: { type: "string", minLength: 1, maxLength: 40 },
          every: { type: "string", minLength: 1, maxLength: 16 },
          tz: { type: "string", minLength: 1, maxLength: 64 },
          missed: { type: "string", enum: ["run_once", "skip"] },
        },
        required: ["prompt"],
        additionalProperties: false,
      },
      invoke: (args, context) => {
        const took = creations.take(context.group);
        if (!took.ok)
          throw new ToolError(
            "TASK_RATE_LIMITED",
            `this group's agents created too many tasks; try again in ${took.retryAfterSec} s`,
            { retriable: true },
          );
        const str = (k: string) => (typeof args[k] === "string" ? (args[k] as string) : undefined);
        return guarded(() =>
          scheduler.add(
            {
              group: context.group,
              prompt: str("prompt") ?? "",
              cron: str("cron"),
              at: str("at"),
              every: str("every"),
              tz: str("tz"),
              missed: args.missed === "skip" ? "skip" : "run_once",
            },
            { by: "agent", session: context.sessionId },
          ),
        );
      },
    },
    {
      name: "task.list",
      description: "Lists this group's scheduled tasks: schedule, next run, status, and who created each.",
      risk_level: "low",
      plugin: "core",
      allowed_groups: ["*"],
      available: always,
      arguments_schema: { type: "object", properties: {}, additionalProperties: false },
      invoke: (_args, context) => ({ tasks: scheduler.list(context.group) }),
    },
    {
      name: "task.cancel",
      description: "Removes one of this group's scheduled tasks by its id (from task.list). The owner approves it.",
      risk_level: "high",
      plugin: "core",
      allowed_groups: ["*"],
      available: always,
      arguments_schema: {
        type: "object",
        properties: { id: { type: "string", pattern: "^[0-9a-f]{16}$" } },
        required: ["id"],
        additionalProperties: false,
      },
      invoke: (args, context) =>
        guarded(() => scheduler.remove(String(args.id), context.group, { by: "agent", session: context.sessionId })),
    },
  ];
}
