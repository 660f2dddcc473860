import { existsSync } from "node:fs";
import { defineCommand } from "citty";
import { controlSocketPath } from "../core/control.ts";
import { processAlive, readPidFile, removePidFile } from "../core/server.ts";
import { control } from "./control-client.ts";
import { CliError, EXIT } from "./errors.ts";
import { printJson, withHome } from "./run-command.ts";

export const stopCommand = defineCommand({
  meta: {
    name: "stop",
    description:
      "Stop the running core and wait until it has cleaned up.\nExit codes: 0 stopped, or no core was running; 1 it did not stop in time.",
  },
  args: { json: { type: "boolean", description: "Print JSON", default: false } },
  run: ({ args }) =>
    withHome(async (home) => {
      const pid = readPidFile(home);
      if (pid === null || !processAlive(pid)) {
        removePidFile(home);
        if (args.json) printJson({ stopped: false, running: false });
        else process.stdout.write("Carapace core is not running; nothing to stop.\n");
        return EXIT.ok;
      }
      control(home, "stop");
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline) {
        // The core removes its pid file as the last step of a clean stop (a zombie still "exists").
        const finished = readPidFile(home) === null || !processAlive(pid);
        if (finished && !existsSync(controlSocketPath(home))) {
          if (args.json) printJson({ stopped: true, pid });
          else process.stdout.write("Carapace core stopped.\n");
          return EXIT.ok;
        }
        await Bun.sleep(50);
      }
      throw new CliError("CORE", `the core (pid ${pid}) did not stop within 15 s`, `kill it with \`kill ${pid}\``);
    }),
});
