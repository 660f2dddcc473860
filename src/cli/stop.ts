import { existsSync } from "node:fs";
import { defineCommand } from "citty";
import { controlSocketPath } from "../core/control.ts";
import { processAlive, readPidFile, removePidFile } from "../core/server.ts";
import { control } from "./control-client.ts";
import { CliError, EXIT } from "./errors.ts";
import { withHome } from "./run-command.ts";

export const stopCommand = defineCommand({
  meta: {
    name: "stop",
    description:
      "Stop the running core and wait until it has cleaned up.\nExit codes: 0 stopped; 1 it did not stop in time; 3 no core was running.",
  },
  run: () =>
    withHome(async (home) => {
      const pid = readPidFile(home);
      if (pid === null || !processAlive(pid)) {
        removePidFile(home);
        throw new CliError("CORE", "the core is not running", "start it with `carapace start`", EXIT.transport);
      }
      control(home, "stop");
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline) {
        // The core removes its pid file as the last step of a clean stop (a zombie still "exists").
        const finished = readPidFile(home) === null || !processAlive(pid);
        if (finished && !existsSync(controlSocketPath(home))) {
          process.stdout.write("Carapace core stopped.\n");
          return EXIT.ok;
        }
        await Bun.sleep(50);
      }
      throw new CliError("CORE", `the core (pid ${pid}) did not stop within 15 s`, `kill it with \`kill ${pid}\``);
    }),
});
