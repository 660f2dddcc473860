import { UserError } from "../../errors/user-error.ts";
import { echoed } from "./schedule.ts";
import type { Scheduler } from "./scheduler.ts";
import { parseDestination } from "./task-view.ts";

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

/** The operator's `task.*` control commands (from `carapace task …`), answered by the scheduler. */
export function taskControl(scheduler: Scheduler, cmd: string, args: Record<string, unknown>): unknown {
  const id = str(args.id) ?? "";
  switch (cmd) {
    case "task.add":
      return scheduler.add(
        {
          group: str(args.group) ?? "default",
          prompt: str(args.prompt) ?? "",
          cron: str(args.cron),
          at: str(args.at),
          every: str(args.every),
          tz: str(args.tz),
          missed: args.missed === "skip" ? "skip" : "run_once",
          overlap: args.overlap === true,
          destination: parseDestination(str(args.deliver) ?? "log"),
        },
        { by: "operator" },
      );
    case "task.list":
      return scheduler.list(str(args.group));
    case "task.show":
      return scheduler.show(id);
    case "task.runs":
      return scheduler.runs(id, undefined, typeof args.limit === "number" ? args.limit : 50);
    case "task.pause":
      return scheduler.pause(id);
    case "task.resume":
      return scheduler.resume(id);
    case "task.rm":
      return scheduler.remove(id);
    case "task.run_now":
      return scheduler.runNow(id);
    default:
      throw new UserError(
        "CONTROL",
        `unknown command ${echoed(cmd, 40)}`,
        "update the CLI and the core to the same version",
      );
  }
}
