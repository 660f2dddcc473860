import { defineCommand } from "citty";
import { control } from "./control-client.ts";
import { EXIT, UserError } from "./errors.ts";
import { printJson, withHome } from "./run-command.ts";

interface Status {
  pid: number;
  version: string;
  uptime_s: number;
  sessions: { id: string; group: string; source: string; inflight: number }[];
  pending_confirmations: number;
  tools: number;
  warm_containers?: { group: string; container: string; state: string }[];
}

export const statusCommand = defineCommand({
  meta: {
    name: "status",
    description:
      "Show whether the core runs, its sessions and pending confirmations.\nExit codes: 0 running; 3 not running.",
  },
  args: { json: { type: "boolean", description: "Print JSON", default: false } },
  run: ({ args }) =>
    withHome((home) => {
      let status: Status;
      try {
        status = control(home, "status") as Status;
      } catch (e) {
        if (e instanceof UserError && e.exitCode === EXIT.transport) {
          if (args.json) printJson({ running: false });
          else process.stdout.write("Carapace core: not running\n");
          return EXIT.transport;
        }
        throw e;
      }
      if (args.json) {
        printJson({ running: true, ...status });
        return EXIT.ok;
      }
      process.stdout.write(
        `Carapace core: running (pid ${status.pid}, version ${status.version}, up ${status.uptime_s} s)\n` +
          `  tools: ${status.tools}, sessions: ${status.sessions.length}, pending confirmations: ${status.pending_confirmations}\n`,
      );
      const warm = status.warm_containers ?? [];
      process.stdout.write(
        `  pre-started containers: ${warm.length}${warm.length ? ` (${warm.map((w) => `${w.group}: ${w.state}`).join(", ")})` : ""}\n`,
      );
      for (const s of status.sessions)
        process.stdout.write(`  session ${s.id} group=${s.group} source=${s.source} inflight=${s.inflight}\n`);
      return EXIT.ok;
    }),
});
