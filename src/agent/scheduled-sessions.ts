import { randomBytes } from "node:crypto";
import { channelSettings } from "../config/channel-keys.ts";
import { homePath } from "../config/home.ts";
import type { Config } from "../config/keys.ts";
import type { EventsPort, SchedulerServices } from "../core/core-services.ts";
import { taskTools } from "../core/intrinsic/task-tools.ts";
import { logLine } from "../core/response/log-stream.ts";
import { systemClock } from "../core/tasks/clock.ts";
import { Scheduler, type SessionLauncher, type SessionOutcome } from "../core/tasks/scheduler.ts";
import { mintIdentity } from "../protocol/envelope.ts";
import { TaskStore } from "../storage/task-store.ts";
import { enabledChannels } from "./channels/wiring.ts";
import type { AgentManager, Task } from "./manager.ts";
import { scheduledPrompt } from "./scheduled-prompt.ts";

/**
 * A scheduled run takes the path `carapace prompt` takes: `task.triggered` on the core's events, which the
 * agent manager consumes and runs as a session for the task's group. No reply_to: the answer goes to the
 * task's destination through the scheduler, never to a chat the session did not come from.
 */
export function scheduledSessions(
  events: Pick<EventsPort, "publish">,
  agents: Pick<AgentManager, "watch">,
): SessionLauncher {
  return {
    run: ({ taskId, runId, group, prompt, createdBy }) =>
      new Promise<SessionOutcome>((resolve) => {
        const task: Task = {
          id: randomBytes(8).toString("hex"),
          group,
          prompt: scheduledPrompt(prompt, createdBy),
          origin: "schedule",
        };
        const unwatch = agents.watch(task.id, (update) => {
          if (update.kind !== "done") return;
          unwatch();
          resolve({ ok: update.ok, answer: update.answer, error: update.error });
        });
        events.publish(mintIdentity(`task-${task.id}`, group, "scheduler"), "task.triggered", {
          ...task,
          schedule: { task: taskId, run: runId },
        });
      }),
  };
}

/** The core's scheduler over the home's task databases, its agent tools registered, started. */
export function startScheduler(home: string, core: SchedulerServices, agents: AgentManager, config: Config): Scheduler {
  const scheduler = new Scheduler({
    store: new TaskStore(homePath(home, "data")),
    clock: systemClock,
    launcher: scheduledSessions(core.events, agents),
    publish: (topic, group, session, payload) =>
      core.events.publish(mintIdentity(session, group, "scheduler"), topic, payload),
    audit: (entry) => void core.audit.appendEvent(entry),
    log: (line) => logLine(line, { component: "TASK" }),
    channels: {
      groupOf: (channel, chat) => {
        if (!enabledChannels(config).includes(channel)) return null;
        return channelSettings(config.channels, channel).chats[chat]?.group ?? null;
      },
      send: async (channel, chat, text) => {
        await core.deliver(channel, { kind: "text", chat, text });
      },
    },
  });
  core.registerTools(taskTools(scheduler));
  scheduler.start();
  return scheduler;
}
