import { defineCommand } from "citty";
import { coreRunning } from "../core/core-lock.ts";
import { readPidFile, removePidFile } from "../core/pid-file.ts";
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
      // The home's lock tells whether a core runs; a pid file can name a reused pid or a zombie.
      if (!coreRunning(home)) {
        removePidFile(home);
        if (args.json) printJson({ stopped: false, running: false });
        else process.stdout.write("Carapace core is not running; nothing to stop.\n");
        return EXIT.ok;
      }
      control(home, "stop");
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline) {
        // The core releases its lock as the last step of a clean stop (or when it dies, however).
        if (!coreRunning(home)) {
          if (args.json) printJson({ stopped: true, pid });
          else process.stdout.write("Carapace core stopped.\n");
          return EXIT.ok;
        }
        await Bun.sleep(50);
      }
      throw new CliError(
        "CORE",
        `the core${pid === null ? "" : ` (pid ${pid})`} did not stop within 15 s`,
        pid === null ? "end the carapace start process" : `kill it with \`kill ${pid}\``,
      );
    }),
});
