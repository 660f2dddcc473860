import { existsSync, unlinkSync } from "node:fs";
import { defineCommand } from "citty";
import { consola } from "consola";
import { AgentManager } from "../agent/manager.ts";
import { checkCredentialDir } from "../config/credentials.ts";
import { ensureHome, homePath } from "../config/home.ts";
import { cachedLimits, limitsFromConfig, loadConfig } from "../config/load.ts";
import { CARAPACE_VERSION } from "../config/version.ts";
import { detectRuntimeOnce } from "../container/detect.ts";
import { CLAUDE_CODE_VERSION, imageState } from "../container/image.ts";
import { ControlChannel, controlSocketPath } from "../core/control.ts";
import { acquireCoreLock } from "../core/core-lock.ts";
import { teeStderrToLog } from "../core/log-file.ts";
import { readPidFile, removePidFile, removePidFileOf, writePidFile } from "../core/pid-file.ts";
import { CoreServer } from "../core/server.ts";
import { pluginConfigSection } from "../plugins/config-section.ts";
import { PluginWatcher, unsafeWatchRoot } from "../plugins/watch.ts";
import { control as controlRequest, EXIT_NO_CORE } from "./control-client.ts";
import { CliError, EXIT, formatMessage, UserError } from "./errors.ts";
import { configureOutput, joinLogStream } from "./output.ts";
import { withHome } from "./run-command.ts";
import { STOP_SLACK_MS, stopWithinBudget } from "./stop-budget.ts";

/**
 * The start-up staleness check, off the critical path: the core serves at once; the user is told when
 * the agent image is missing or stale (SKIP_IMAGE_BUILD=1 silences it). Sessions need the image, not the core.
 */
async function warnIfImageNotCurrent(engine: "auto" | "podman" | "docker" | "apple", image: string): Promise<void> {
  if (process.env.SKIP_IMAGE_BUILD === "1") return;
  try {
    const { runtime } = await detectRuntimeOnce({ preference: engine });
    const state = await imageState(runtime, image, {
      carapaceVersion: CARAPACE_VERSION,
      claudeCodeVersion: CLAUDE_CODE_VERSION,
    });
    if (state.state === "missing")
      consola.warn(`[IMAGE] ${image} is missing: agent sessions cannot start. Build it with \`carapace image build\`.`);
    if (state.state === "stale")
      consola.warn(
        `[IMAGE] ${image} is stale (${state.reasons.join("; ")}). Rebuild it with \`carapace image build\`.`,
      );
  } catch (e) {
    consola.warn(`[CONTAINER] ${(e as Error).message}`);
  }
}

function controlAnswers(home: string): boolean {
  try {
    controlRequest(home, "status", {}, 1_000);
    return true;
  } catch (error) {
    return !(error instanceof UserError && error.exitCode === EXIT_NO_CORE);
  }
}

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
    watch: {
      type: "boolean",
      description: "Reload a plugin when its folder changes (user plugins, [plugins] dirs)",
      default: false,
    },
  },
  run: ({ args }) =>
    withHome(async (home) => {
      process.umask(0o077);
      ensureHome(home);
      const config = loadConfig(home);
      joinLogStream(config.logging, configureOutput(config.logging), args.debug === true);
      for (const f of checkCredentialDir(home)) {
        if (f.level === "fail") throw new CliError("CREDENTIALS", f.message, f.fix);
        if (f.level === "warn") consola.warn(`[CREDENTIALS] ${f.message} (${f.fix})`);
      }
      // The lock, not the pid file, says whether a core runs: a pid can be reused, a zombie still "exists".
      const lock = acquireCoreLock(home);
      if (lock === null) {
        const pid = readPidFile(home);
        throw new CliError(
          "CORE",
          `a core is already running in ${home}${pid === null ? "" : ` (pid ${pid})`}`,
          "use it, or stop it with `carapace stop`",
        );
      }
      const lockHeld = { lock };
      teeStderrToLog(home);
      process.on("exit", () => lockHeld.lock.release());
      // Holding the lock, the pid file and sockets a killed core left are stale, unless an older core that
      // takes no lock still answers on the control socket: never bind over a live socket.
      if (existsSync(controlSocketPath(home))) {
        if (controlAnswers(home)) {
          lock.release();
          throw new CliError(
            "CORE",
            `another core answers on ${controlSocketPath(home)}`,
            "stop it with `carapace stop`, then start again",
          );
        }
        unlinkSync(controlSocketPath(home));
      }
      removePidFile(home);
      const watchRoots = args.watch ? [homePath(home, "plugins"), ...config.plugins.dirs] : [];
      for (const root of watchRoots) {
        const unsafe = unsafeWatchRoot(root);
        if (unsafe)
          throw new CliError(
            "PLUGINS",
            `--watch refuses to watch ${unsafe}`,
            `chown it to yourself and run chmod go-w on it`,
          );
      }
      const server = new CoreServer({
        home,
        limits: cachedLimits(config),
        helloEnabled: config.hello.enabled,
        plugins: { dirs: config.plugins.dirs, disabled: config.plugins.disabled },
        pluginConfig: (plugin) => pluginConfigSection(config, plugin),
        ...(args.debug ? { debug: args["trace-filter"] ? { traceFilter: String(args["trace-filter"]) } : {} } : {}),
      });
      await server.start();
      const watcher = args.watch
        ? new PluginWatcher(server.plugins, watchRoots, { log: (line) => process.stderr.write(`${line}\n`) })
        : null;
      watcher?.start();
      const agents = new AgentManager(home, server, config);
      // Containers and files a crashed core left behind (found by label), off the critical path.
      void agents.cleanupOrphans();
      writePidFile(home);
      const done = Promise.withResolvers<void>();
      let stopping = false;
      const stop = () => {
        if (stopping) return;
        stopping = true;
        watcher?.close();
        control.close();
        const limits = limitsFromConfig(config);
        const budgetMs = limits.containerStopTimeoutMs + limits.pluginShutdownTimeoutMs + STOP_SLACK_MS;
        const overrun = (step: string) => {
          consola.error(
            formatMessage(
              "CORE",
              `stopping took longer than ${Math.round(budgetMs / 1000)} s (still waiting for ${step}), so the core exits now`,
              "run `carapace doctor` before the next start, and report this if it happens again",
            ),
          );
          removePidFileOf(home, process.pid);
          lock.release();
          process.exit(EXIT.failure);
        };
        void stopWithinBudget(
          [
            { name: "the agent sessions", run: () => agents.stop() },
            { name: "the core server (sessions, plugins, audit)", run: () => server.stop() },
          ],
          budgetMs,
          overrun,
        ).finally(() => {
          removePidFileOf(home, process.pid);
          lock.release();
          done.resolve();
        });
      };
      const control = new ControlChannel(home, server, stop, agents);
      process.on("SIGINT", stop);
      process.on("SIGTERM", stop);
      void warnIfImageNotCurrent(config.runtime.engine, config.runtime.image);
      consola.info(`Carapace core running (pid ${process.pid}, home ${home}). Stop with Ctrl-C or \`carapace stop\`.`);
      await done.promise;
      consola.info("Carapace core stopped.");
      // Everything is closed by now; a handle something left open must not keep a stopped core alive.
      setTimeout(() => process.exit(EXIT.ok), 1_000).unref();
      return EXIT.ok;
    }),
});
