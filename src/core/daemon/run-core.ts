import { attachChannelRouter, enabledChannels } from "../../agent/channels/wiring.ts";
import { AgentManager } from "../../agent/manager.ts";
import { startScheduler } from "../../agent/scheduled-sessions.ts";
import { ensureHome } from "../../config/home.ts";
import type { Config } from "../../config/keys.ts";
import { cachedLimits, limitsFromConfig, loadConfig } from "../../config/load.ts";
import { detectRuntimeOnce } from "../../container/detect.ts";
import { EXIT, type ExitCode, formatMessage } from "../../errors/user-error.ts";
import { pluginConfigSection } from "../../plugins/config-section.ts";
import { PluginWatcher } from "../../plugins/watch.ts";
import { ControlChannel } from "../control.ts";
import { removePidFileOf, writePidFile } from "../pid-file.ts";
import { logLine } from "../response/log-stream.ts";
import { CoreServer } from "../server.ts";
import { claimHome, watchRoots } from "./claim-home.ts";
import { warnIfImageNotCurrent } from "./image-warning.ts";
import { STOP_SLACK_MS, stopWithinBudget } from "./stop-budget.ts";

export interface RunCoreOptions {
  home: string;
  /** Trace every hop of every call (redacted); with a prefix, only topics that start with it. */
  debug?: { traceFilter?: string };
  /** Reload a plugin when its folder changes. */
  watch: boolean;
  /** Sets the process's own output up from [logging], once the config is read. */
  configureLogging: (logging: Config["logging"]) => void;
}

/**
 * The running core (`carapace start`), in the foreground until SIGINT, SIGTERM or `carapace stop`:
 * claims the home, composes the core server, the agent manager and the control socket, and stops them
 * in order under one time budget. Resolves with the process's exit code once everything is closed.
 */
export async function runCore(options: RunCoreOptions): Promise<ExitCode> {
  const { home } = options;
  process.umask(0o077);
  ensureHome(home);
  const config = loadConfig(home);
  options.configureLogging(config.logging);
  const lock = claimHome(home);
  const roots = options.watch ? watchRoots(home, config) : [];
  const server = new CoreServer({
    home,
    limits: cachedLimits(config),
    helloEnabled: config.hello.enabled,
    plugins: { dirs: config.plugins.dirs, disabled: config.plugins.disabled, channels: enabledChannels(config) },
    pluginConfig: (plugin) => pluginConfigSection(config, plugin),
    mcpServers: config.mcp.servers,
    ...(options.debug ? { debug: options.debug } : {}),
  });
  // Before the plugins start: a channel's first message finds the router and the agent manager.
  const runtime = () => detectRuntimeOnce({ preference: config.runtime.engine });
  // Started now, while the plugins start: a `podman info` takes about a second, and the first session
  // and the start-up image check wait for it.
  runtime().catch(() => {});
  void warnIfImageNotCurrent(config.runtime.engine, config.runtime.image);
  const agents = new AgentManager(home, server.forAgents(), config, runtime);
  const channels = attachChannelRouter(home, config, server.forChannels(), agents);
  await server.start();
  const watcher = options.watch
    ? new PluginWatcher({ reload: (plugin, key) => server.reloadPlugin(plugin, key) }, roots, {
        log: (line) => process.stderr.write(`${line}\n`),
      })
    : null;
  watcher?.start();
  // Containers and files a crashed core left behind (found by label), off the critical path.
  // Then the pre-started containers of the configured groups, when `[runtime] prestart` is on.
  void agents.cleanupOrphans().then(() => agents.prestartConfiguredGroups());
  const tasks = startScheduler(home, server.forScheduler(), agents, config);
  writePidFile(home);
  const done = Promise.withResolvers<void>();
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    watcher?.close();
    tasks.stop();
    control.close();
    const limits = limitsFromConfig(config);
    const budgetMs = limits.containerStopTimeoutMs + limits.pluginShutdownTimeoutMs + STOP_SLACK_MS;
    const overrun = (step: string) => {
      logLine(
        formatMessage(
          "CORE",
          `stopping took longer than ${Math.round(budgetMs / 1000)} s (still waiting for ${step}), so the core exits now`,
          "run `carapace doctor` before the next start, and report this if it happens again",
        ),
        { level: "error" },
      );
      removePidFileOf(home, process.pid);
      lock.release();
      process.exit(EXIT.failure);
    };
    void stopWithinBudget(
      [
        { name: "the agent sessions", run: () => agents.stop().finally(() => channels.close()) },
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
  const control = new ControlChannel(home, server.forControl(), stop, agents, tasks, channels);
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  logLine(`Carapace core running (pid ${process.pid}, home ${home}). Stop with Ctrl-C or \`carapace stop\`.`, {
    level: "info",
  });
  await done.promise;
  logLine("Carapace core stopped.", { level: "info" });
  // Everything is closed by now; a handle something left open must not keep a stopped core alive.
  setTimeout(() => process.exit(EXIT.ok), 1_000).unref();
  return EXIT.ok;
}
