import { existsSync, unlinkSync } from "node:fs";
import { defineCommand } from "citty";
import { consola } from "consola";
import { checkCredentialDir } from "../config/credentials.ts";
import { ensureHome } from "../config/home.ts";
import { limitsFromConfig, loadConfig } from "../config/load.ts";
import { ControlChannel, controlSocketPath } from "../core/control.ts";
import { CoreServer, processAlive, readPidFile, removePidFile, writePidFile } from "../core/server.ts";
import { CliError, EXIT } from "./errors.ts";
import { withHome } from "./run-command.ts";

export const startCommand = defineCommand({
  meta: {
    name: "start",
    description:
      "Run the core in the foreground (Ctrl-C or `carapace stop` stops it gracefully).\n" +
      "Exit codes: 0 stopped cleanly; 1 could not start (already running, bad config, insecure credentials).",
  },
  args: {
    debug: { type: "boolean", description: "Print every hop of every call (redacted)", default: false },
    "trace-filter": { type: "string", description: "With --debug: only trace topics with this prefix" },
  },
  run: ({ args }) =>
    withHome(async (home) => {
      process.umask(0o077);
      ensureHome(home);
      const config = loadConfig(home);
      for (const f of checkCredentialDir(home)) {
        if (f.level === "fail") throw new CliError("CREDENTIALS", f.message, f.fix);
        if (f.level === "warn") consola.warn(`[CREDENTIALS] ${f.message} (${f.fix})`);
      }
      const pid = readPidFile(home);
      if (pid !== null && pid !== process.pid && processAlive(pid)) {
        throw new CliError("CORE", `a core is already running (pid ${pid})`, "use it, or stop it with `carapace stop`");
      }
      // A core killed with SIGKILL leaves its pid file and sockets; they are stale now.
      removePidFile(home);
      if (existsSync(controlSocketPath(home))) unlinkSync(controlSocketPath(home));
      const server = new CoreServer({
        home,
        limits: (group) => limitsFromConfig(config, group),
        helloEnabled: config.hello.enabled,
        ...(args.debug ? { debug: args["trace-filter"] ? { traceFilter: String(args["trace-filter"]) } : {} } : {}),
      });
      server.start();
      writePidFile(home);
      const done = Promise.withResolvers<void>();
      let stopping = false;
      const stop = () => {
        if (stopping) return;
        stopping = true;
        control.close();
        void server.stop().finally(() => {
          removePidFile(home);
          done.resolve();
        });
      };
      const control = new ControlChannel(home, server, stop);
      process.on("SIGINT", stop);
      process.on("SIGTERM", stop);
      consola.info(`Carapace core running (pid ${process.pid}, home ${home}). Stop with Ctrl-C or \`carapace stop\`.`);
      await done.promise;
      consola.info("Carapace core stopped.");
      return EXIT.ok;
    }),
});
