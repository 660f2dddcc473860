/**
 * The plugins of a running core: checks and starts each one in its own sandboxed process (a failing
 * one is excluded and recorded, never fatal), registers their tools in the catalog, routes calls,
 * events and brief requests to the processes, restarts a process that dies and marks a plugin failed
 * after repeated crashes, and shuts them down in time.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import type { McpServerConfig } from "../config/mcp.ts";
import type { AuditLog } from "../core/response/audit-log.ts";
import { logLine } from "../core/response/log-stream.ts";
import { sanitizeText } from "../core/response/sanitize.ts";
import { stripTerminalEscapes } from "../core/response/terminal-text.ts";
import { whatOf } from "../errors/user-error.ts";
import { type Envelope, mintIdentity, type SessionIdentity } from "../protocol/envelope.ts";
import type { Limits } from "../protocol/limits.ts";
import { type Catalog, InvokeFailure, type ToolEntry } from "./catalog.ts";
import { type GroupViews, type PluginHook, TO_PLUGIN } from "./channel/messages.ts";
import type { ChannelDesk } from "./channel-desk.ts";
import { type PluginProblem, problem } from "./failure.ts";
import { type Candidate, discoverPlugins, type LoaderSettings, prepareCandidate, statusOf } from "./loader.ts";
import type { Manifest } from "./manifest-schema.ts";
import { bridgeSpec } from "./mcp/bridge-spec.ts";
import { mcpCandidates, mcpManifest } from "./mcp/candidates.ts";
import { mcpPathProblem } from "./mcp/paths.ts";
import { checkMcpTools, type RefusedTool } from "./mcp/tool-check.ts";
import { mcpToolsDesk } from "./mcp/tools-desk.ts";
import { ToolError } from "./sdk/tool-error.ts";
import type { ChannelDelivery, DeliveryReceipt, ToolContext } from "./sdk/types.ts";
import { sessionPluginsView } from "./services.ts";
import type { PluginStatus } from "./status.ts";
import { planLaunch } from "./supervisor/launch.ts";
import { PluginAnswerError, PluginCallError, PluginProcess, type ProcessExit } from "./supervisor/plugin-process.ts";
import { type CallScope, serviceDesk } from "./supervisor/service-desk.ts";

/** Core events (plugin.ready, plugin.stopping) belong to no group. */
export const CORE_EVENT_GROUP = "_core";
const CORE_IDENTITY = mintIdentity("core", CORE_EVENT_GROUP, "core");

/** A plugin whose process ends this often within the window is marked failed instead of restarted. */
export const CRASH_LIMIT = 3;
const CRASH_WINDOW_MS = 60_000;
const RESTART_BACKOFF_MS = [250, 1_000, 4_000];
/** After a call times out: a process that does not answer a ping this fast is stuck and is killed. */
const LIVENESS_PING_MS = 1_000;
const PROCESS_START_MS = 15_000;

export interface PluginHostDeps {
  home: string;
  catalog: Catalog;
  audit: AuditLog;
  limits(): Limits;
  publish(identity: SessionIdentity, topic: string, payload: unknown, correlation?: string | null): void;
  settings?: Omit<LoaderSettings, "home">;
  /** A plugin's config section; {} when it has none. */
  configFor?(plugin: string): Readonly<Record<string, unknown>>;
  writeLog?(line: string): void;
  /** `[mcp.servers.*]` of config.toml: each server runs as a plugin through the MCP bridge. */
  mcpServers?: Readonly<Record<string, McpServerConfig>>;
}

export type ReloadOutcome =
  | { ok: true; tools: string[]; version: string }
  | { ok: false; problem: PluginProblem; detail?: string };

interface Running {
  candidate: Candidate;
  manifest: Manifest;
  status: PluginStatus;
  proc: PluginProcess | null;
  hooks: PluginHook[];
  crashes: number[];
  restartTimer: ReturnType<typeof setTimeout> | null;
  /** Revision of the group views this process was sent last, per group. */
  viewsSent: Map<string, number>;
  probing: boolean;
  /** An MCP server's tools: catalog name → the name the server knows. */
  mcpNames?: Map<string, string>;
}

/** An MCP server's tool list as the core accepted it: the manifest to serve, and what was refused. */
interface McpTools {
  manifest: Manifest;
  names: Map<string, string>;
  refused: RefusedTool[];
}

type Launched =
  | { ok: true; proc: PluginProcess; hooks: PluginHook[]; mcp?: McpTools }
  | { ok: false; problem: PluginProblem; detail?: string };

function topicMatches(pattern: string, topic: string): boolean {
  return pattern.endsWith(".*") ? topic.startsWith(pattern.slice(0, -1)) : pattern === topic;
}

/** A healthy plugin with a handleEvent hook whose manifest subscribes to the topic. */
function takesTopic(entry: Running, topic: string): boolean {
  if (entry.status.state !== "healthy" || !entry.hooks.includes("handleEvent")) return false;
  return (entry.manifest.subscribes ?? []).some((p) => topicMatches(p, topic));
}

function allowsGroup(manifest: Manifest, group: string): boolean {
  const allowed = manifest.allowed_groups ?? ["*"];
  return allowed.includes("*") || allowed.includes(group);
}

function cleanDetail(text: string): string {
  return stripTerminalEscapes(sanitizeText(text)).slice(0, 500);
}

export class PluginHost {
  private readonly running = new Map<string, Running>();
  private failedOrSkipped: PluginStatus[] = [];
  private loadStarted = false;
  private stopping = false;
  private readonly writeLog: (line: string) => void;
  private readonly scopes = new Map<string, CallScope & { plugin: string }>();
  private revision = 1;
  private channelDesk: ChannelDesk | null = null;
  /** Per MCP server, the tools (their MCP names) it has been served high risk with since the core started. */
  private readonly mcpEverHigh = new Map<string, Set<string>>();

  constructor(private readonly deps: PluginHostDeps) {
    this.writeLog = deps.writeLog ?? ((line) => logLine(line));
  }

  /** Every plugin the core considered, in load order: healthy, restarting, failed, disabled, overridden, stopped. */
  statuses(): PluginStatus[] {
    return [...[...this.running.values()].map((r) => r.status), ...this.failedOrSkipped];
  }

  async load(): Promise<void> {
    if (this.loadStarted) return;
    this.loadStarted = true;
    // Socket folders a killed core's plugin processes left behind (one core per home holds the lock).
    rmSync(join(this.deps.home, "run/plugins"), { recursive: true, force: true });
    const discovery = discoverPlugins({ home: this.deps.home, ...(this.deps.settings ?? {}) });
    this.failedOrSkipped.push(...discovery.skipped);
    const taken = new Map(this.deps.catalog.list().map((t) => [t.name, t.plugin]));
    const accepted: { candidate: Candidate; manifest: Manifest }[] = [];
    const pluginNames = new Set(discovery.candidates.map((c) => c.name));
    for (const candidate of mcpCandidates(this.deps.mcpServers ?? {})) {
      const server = candidate.mcp as McpServerConfig;
      const early =
        candidate.early ??
        (pluginNames.has(candidate.name)
          ? problem("duplicate_tool", `a plugin named "${candidate.name}" exists; rename the MCP server`)
          : null) ??
        (mcpPathProblem(server, this.deps.home)
          ? problem("path_traversal", mcpPathProblem(server, this.deps.home) as string)
          : null);
      if (early) this.fail(candidate, early, null);
      else accepted.push({ candidate, manifest: mcpManifest(candidate.name, server, []) });
    }
    const serverNames = new Set(Object.keys(this.deps.mcpServers ?? {}));
    for (const candidate of discovery.candidates) {
      const prepared = this.prepare(candidate, taken);
      if ("problem" in prepared) {
        this.fail(candidate, prepared.problem, null);
        continue;
      }
      // An MCP server's namespace is its own: its tools are known only once it runs, so a plugin's
      // tool there would take one of them (or fail the whole server) by who starts first.
      const squatted = (prepared.manifest.provides.tools ?? []).find((t) =>
        serverNames.has(t.name.split(".")[0] ?? ""),
      );
      if (squatted) {
        const server = squatted.name.split(".")[0];
        this.fail(
          candidate,
          problem("duplicate_tool", `tool "${squatted.name}" is in the namespace of MCP server "${server}"`),
          null,
        );
        continue;
      }
      for (const tool of prepared.manifest.provides.tools ?? []) taken.set(tool.name, candidate.name);
      accepted.push({ candidate, manifest: prepared.manifest });
    }
    // Start concurrently: one slow plugin costs at most one init timeout, not one each.
    await Promise.all(accepted.map(({ candidate, manifest }) => this.start(candidate, manifest)));
  }

  private prepare(
    candidate: Candidate,
    taken: ReadonlyMap<string, string>,
  ): { manifest: Manifest } | { problem: PluginProblem } {
    try {
      const prepared = prepareCandidate(candidate, taken);
      const first = prepared.problems[0];
      if (!prepared.manifest || first)
        return { problem: first ?? problem("manifest_invalid", "the manifest was refused") };
      return { manifest: prepared.manifest };
    } catch (error) {
      // An unreadable folder (EACCES, a race with a deletion) fails this plugin only.
      const code = (error as NodeJS.ErrnoException).code ?? "unknown error";
      return { problem: problem("import_failed", `${candidate.label} could not be read (${code})`) };
    }
  }

  /** Starts the plugin's process, imports and initializes its handler there, within the init limit. */
  private async launch(candidate: Candidate, manifest: Manifest, entry: () => Running | undefined): Promise<Launched> {
    const limits = this.deps.limits();
    const plan = planLaunch(
      this.deps.home,
      candidate,
      manifest,
      limits,
      candidate.mcp
        ? { mcp: bridgeSpec(candidate.name, candidate.mcp, limits.handlerTimeoutMs) }
        : { ...(this.deps.configFor?.(candidate.name) ?? {}) },
    );
    if ("unavailable" in plan) {
      return {
        ok: false,
        problem: problem("sandbox_unavailable", `no plugin sandbox: ${plan.unavailable}`),
        detail: "install bubblewrap (apt-get install bubblewrap)",
      };
    }
    const lines: string[] = [];
    let proc: PluginProcess | null = null;
    proc = new PluginProcess({
      plugin: candidate.name,
      socketDir: plan.socketDir,
      command: plan.command,
      start: plan.start,
      asRoot: plan.asRoot,
      maxMessageBytes: limits.maxResponseBytes + 64 * 1024,
      memoryBytes: limits.pluginMemoryMb * 1024 * 1024,
      onService: mcpToolsDesk(
        candidate,
        (tools) => {
          const e = entry();
          if (e && proc && e.proc === proc) this.onMcpToolsChanged(e, tools);
        },
        serviceDesk({
          plugin: candidate.name,
          manifest,
          audit: this.deps.audit,
          scope: (id) => {
            const s = typeof id === "string" ? this.scopes.get(id) : undefined;
            return s && s.plugin === candidate.name ? s : undefined;
          },
          publish: (identity, topic, payload, correlation) => this.deps.publish(identity, topic, payload, correlation),
          writeLog: (line) => this.writeLog(line),
          channels: () => this.channelDesk,
        }),
      ),
      onLog: (line) => {
        const clean = cleanDetail(line);
        lines.push(clean);
        if (lines.length > 20) lines.shift();
        this.writeLog(clean);
      },
      onExit: (exit) => {
        const e = entry();
        if (e && proc && e.proc === proc) this.onProcessExit(e, exit);
      },
    });
    const limit = limits.pluginInitTimeoutMs;
    try {
      // Starting the process has its own limit; the plugin's own init limit covers import and initialize().
      await proc.spawn(PROCESS_START_MS);
      const init = (await proc.request(TO_PLUGIN.initialize, {}, limit)) as {
        hooks?: PluginHook[];
        mcp_tools?: unknown;
      };
      const hooks = Array.isArray(init?.hooks) ? init.hooks : [];
      if (!candidate.mcp) return { ok: true, proc, hooks };
      return { ok: true, proc, hooks, mcp: this.checkedMcpTools(candidate, init?.mcp_tools) };
    } catch (error) {
      proc.kill("initialization failed");
      if (error instanceof PluginCallError && error.reason === "timeout")
        return { ok: false, problem: problem("init_timeout", `initialize() did not finish within ${limit} ms`) };
      if (error instanceof PluginAnswerError && error.answer.code === "IMPORT_FAILED")
        return {
          ok: false,
          problem: problem("import_failed", `${candidate.label}/handler.ts could not be imported`),
          detail: cleanDetail(error.message.replaceAll(candidate.dir ?? "\0", ".").replaceAll("/plugin/", "./")),
        };
      if (error instanceof PluginAnswerError && error.answer.code === "BAD_HANDLER")
        return {
          ok: false,
          problem: problem(
            "import_failed",
            `${candidate.label}/handler.ts must \`export default\` an object with initialize() and handleToolInvocation()`,
          ),
        };
      if (error instanceof PluginAnswerError)
        return {
          ok: false,
          problem: problem("init_failed", "initialize() threw an error"),
          detail: cleanDetail(error.message),
        };
      await proc.exitedPromise;
      return {
        ok: false,
        problem: problem("init_failed", "the plugin process ended while starting"),
        detail: lines.slice(-3).join(" | "),
      };
    }
  }

  private async start(candidate: Candidate, manifest: Manifest): Promise<void> {
    let entry: Running | undefined;
    const launched = await this.launch(candidate, manifest, () => entry);
    if (!launched.ok) {
      this.registerUnavailable(candidate.name, manifest);
      return this.fail(candidate, launched.problem, manifest.version, launched.detail);
    }
    if (this.stopping) {
      launched.proc.kill("core stopping");
      return;
    }
    const served = launched.mcp?.manifest ?? manifest;
    const tools = (served.provides.tools ?? []).map((t) => t.name);
    entry = healthyEntry(candidate, served, tools, launched);
    if (launched.mcp) this.applyMcpTools(entry, launched.mcp);
    this.running.set(candidate.name, entry);
    try {
      this.deps.catalog.replacePlugin(candidate.name, this.toolEntries(entry));
    } catch (error) {
      this.running.delete(candidate.name);
      launched.proc.kill("duplicate tool");
      const p = problem("duplicate_tool", whatOf(error));
      return this.fail(candidate, p, manifest.version);
    }
    this.revision++;
    this.announceReady(candidate, manifest, tools, false);
  }

  private announceReady(
    candidate: Candidate,
    manifest: Manifest,
    tools: string[],
    how: false | "reloaded" | "restarted",
  ) {
    this.auditQuietly({
      kind: "event",
      outcome: "info",
      topic: "plugin.ready",
      detail: { plugin: candidate.name, ...(how ? { [how]: true } : { source: candidate.source }), tools },
    });
    this.deps.publish(CORE_IDENTITY, "plugin.ready", {
      plugin: candidate.name,
      version: manifest.version,
      source: candidate.source,
      tools,
    });
  }

  private auditQuietly(entry: Parameters<AuditLog["append"]>[0]): void {
    void this.deps.audit.appendEvent(entry);
  }

  /** A process ended on its own (crash, exit, out of memory) or was killed for a fault. */
  private onProcessExit(entry: Running, exit: ProcessExit): void {
    entry.proc = null;
    if (entry.status.state !== "healthy" || this.stopping) return;
    const how = exit.killedFor ?? (exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`);
    const now = Date.now();
    entry.crashes = [...entry.crashes.filter((t) => now - t < CRASH_WINDOW_MS), now];
    this.revision++;
    this.auditQuietly({
      kind: "event",
      outcome: "error",
      detail: { event: "plugin process ended", plugin: entry.status.name, how, crashes: entry.crashes.length },
    });
    if (entry.crashes.length >= CRASH_LIMIT) {
      this.markCrashed(entry, how);
      return;
    }
    entry.status.state = "restarting";
    const delay = RESTART_BACKOFF_MS[Math.min(entry.crashes.length - 1, RESTART_BACKOFF_MS.length - 1)] ?? 1_000;
    this.writeLog(
      `[PLUGINS] Error: the process of plugin "${entry.status.name}" ended (${how}); restarting it in ${delay} ms. Fix: see the plugin's log lines above.`,
    );
    entry.restartTimer = setTimeout(() => void this.restart(entry), delay);
  }

  private markCrashed(entry: Running, how: string): void {
    entry.status.state = "failed";
    entry.status.category = "crashed";
    entry.status.reason = `the plugin process ended ${entry.crashes.length} times within ${CRASH_WINDOW_MS / 1000} s`;
    entry.status.detail = cleanDetail(how);
    entry.status.tools = [];
    this.revision++;
    this.writeLog(
      `[PLUGINS] Error: plugin "${entry.status.name}" is marked failed: ${entry.status.reason} (last: ${how}). Fix: correct the plugin and run \`carapace reload\` or restart the core; the other plugins keep running.`,
    );
    this.auditQuietly({
      kind: "event",
      outcome: "error",
      detail: { event: "plugin failed", plugin: entry.status.name, category: "crashed", reason: entry.status.reason },
    });
  }

  private async restart(entry: Running): Promise<void> {
    entry.restartTimer = null;
    if (this.stopping || entry.status.state !== "restarting" || this.running.get(entry.status.name) !== entry) return;
    const launched = await this.launch(entry.candidate, entry.manifest, () => entry);
    if (this.stopping || this.running.get(entry.status.name) !== entry) {
      if (launched.ok) launched.proc.kill("replaced");
      return;
    }
    if (!launched.ok) {
      entry.status.state = "healthy";
      // Counts as one more crash: restarts with backoff, or failed at the limit.
      this.onProcessExit(entry, {
        code: null,
        signal: null,
        killedFor: `restart failed: ${launched.problem.category}`,
      });
      return;
    }
    entry.proc = launched.proc;
    entry.hooks = launched.hooks;
    entry.viewsSent = new Map();
    entry.status.state = "healthy";
    if (launched.mcp) this.replaceMcpTools(entry, launched.mcp);
    this.revision++;
    this.announceReady(entry.candidate, entry.manifest, entry.status.tools, "restarted");
  }

  /**
   * Hot reload of one plugin (`start --watch`): every check again and a fresh process initialized;
   * only then are its tools swapped in, in one step. On any failure the version already running
   * keeps serving and the problem is returned for the operator.
   */
  async reload(name: string, _cacheKey?: string): Promise<ReloadOutcome> {
    const discovery = discoverPlugins({ home: this.deps.home, ...(this.deps.settings ?? {}) });
    const candidate = discovery.candidates.find((c) => c.name === name);
    if (!candidate?.dir) return { ok: false, problem: problem("import_failed", `no enabled plugin folder ${name}`) };
    const taken = new Map(this.deps.catalog.list().flatMap((t) => (t.plugin === name ? [] : [[t.name, t.plugin]])));
    const prepared = this.prepare(candidate, taken as Map<string, string>);
    if ("problem" in prepared) return { ok: false, problem: prepared.problem };
    const manifest = prepared.manifest;
    let entry: Running | undefined;
    const launched = await this.launch(candidate, manifest, () => entry);
    if (!launched.ok)
      return { ok: false, problem: launched.problem, ...(launched.detail ? { detail: launched.detail } : {}) };
    const tools = (manifest.provides.tools ?? []).map((t) => t.name);
    entry = healthyEntry(candidate, manifest, tools, launched);
    const previous = this.running.get(name);
    this.deps.catalog.replacePlugin(name, this.toolEntries(entry));
    this.running.set(name, entry);
    this.failedOrSkipped = this.failedOrSkipped.filter((s) => s.name !== name || s.state !== "failed");
    this.revision++;
    if (previous) {
      previous.status.state = "stopped";
      if (previous.restartTimer) clearTimeout(previous.restartTimer);
      void previous.proc?.stop(this.deps.limits().pluginShutdownTimeoutMs).catch(() => {});
    }
    this.announceReady(candidate, manifest, tools, "reloaded");
    return { ok: true, tools, version: manifest.version };
  }

  private openScope(plugin: string, scope: CallScope): string {
    const id = crypto.randomUUID();
    this.scopes.set(id, { ...scope, plugin });
    return id;
  }

  /** The catalog and plugin statuses a group may see, sent only when they changed for this process. */
  private viewsFor(entry: Running, group: string | null): GroupViews | undefined {
    if (!group || entry.viewsSent.get(group) === this.revision) return undefined;
    entry.viewsSent.set(group, this.revision);
    const catalog = this.deps.catalog;
    return {
      group,
      revision: this.revision,
      tools: catalog
        .list()
        .filter((t) => catalog.allows(t, group))
        .map((t) => ({ name: t.name, description: t.description, risk_level: t.risk_level, plugin: t.plugin })),
      plugins: sessionPluginsView(this.statuses()),
    };
  }

  /** A call that timed out: if the process no longer answers a ping (a busy loop), it is killed and restarted. */
  private async checkLiveness(entry: Running, proc: PluginProcess): Promise<void> {
    if (entry.probing) return;
    entry.probing = true;
    try {
      const ok = await proc.responsive(LIVENESS_PING_MS);
      if (!ok && entry.proc === proc) proc.kill("did not answer within its time limit and is unresponsive");
    } finally {
      entry.probing = false;
    }
  }

  /** Sends one request to the plugin's process under a fresh scope; maps every failure to a pipeline code. */
  private async ask(
    entry: Running,
    topic: string,
    args: Record<string, unknown>,
    scope: CallScope,
    ms: number,
    keepOpen = false,
  ) {
    const proc = entry.proc;
    if (!proc || entry.status.state !== "healthy") {
      throw new InvokeFailure("PLUGIN_UNAVAILABLE", "the tool's plugin is not available right now");
    }
    const id = this.openScope(entry.status.name, scope);
    try {
      // A tool call stays open past its deadline (the pipeline has answered PLUGIN_TIMEOUT by then):
      // a late answer is audited as late, a stuck process is killed.
      const onDeadline = keepOpen ? () => void this.checkLiveness(entry, proc) : undefined;
      return await proc.request(
        topic,
        { ...args, scope: id, views: this.viewsFor(entry, scope.group) },
        ms,
        onDeadline,
      );
    } catch (error) {
      if (error instanceof PluginCallError) {
        if (error.reason === "timeout") {
          void this.checkLiveness(entry, proc);
          throw new InvokeFailure("PLUGIN_TIMEOUT", `the tool did not answer within ${ms} ms`);
        }
        throw new InvokeFailure("PLUGIN_UNAVAILABLE", "the tool's plugin stopped while handling the call");
      }
      if (error instanceof PluginAnswerError) {
        const a = error.answer;
        if (a.tool_error) throw new ToolError(a.code, a.message, { retriable: a.retriable });
        if (a.code === "HANDLER_ERROR") throw new InvokeFailure("HANDLER_ERROR", a.message);
        if (a.code === "MCP_UNREACHABLE")
          throw new InvokeFailure("PLUGIN_UNAVAILABLE", "the MCP server cannot be reached");
      }
      throw new Error("the tool failed");
    } finally {
      this.scopes.delete(id);
    }
  }

  /**
   * A plugin whose manifest is valid but whose process failed to start keeps its tools in the catalog,
   * unavailable: a call gets PLUGIN_UNAVAILABLE (the tool exists, its plugin is down) instead of
   * UNKNOWN_TOOL, and list_tools leaves them out. A later reload replaces them.
   */
  private registerUnavailable(plugin: string, manifest: Manifest): void {
    const entries = catalogEntries(manifest, plugin, {
      available: () => false,
      invoke: () => {
        throw new InvokeFailure("PLUGIN_UNAVAILABLE", "the plugin failed to start");
      },
    });
    try {
      this.deps.catalog.replacePlugin(plugin, entries);
    } catch {
      // A name another plugin already registered stays that plugin's; the failure is reported by fail().
    }
  }

  private toolEntries(entry: Running): ToolEntry[] {
    return catalogEntries(entry.manifest, entry.status.name, {
      available: () => entry.status.state === "healthy",
      invoke: (tool, args, context) =>
        this.ask(
          entry,
          TO_PLUGIN.invoke,
          { tool: entry.mcpNames?.get(tool) ?? tool, args, context },
          { group: context.group, sessionId: context.sessionId, correlation: context.correlation || null },
          this.deps.limits().handlerTimeoutMs,
          true,
        ),
    });
  }

  /** Checks a server's tool list by the manifest rules; logs what was refused. */
  private checkedMcpTools(candidate: Candidate, raw: unknown): McpTools {
    const server = candidate.mcp as McpServerConfig;
    // readOnlyHint is the server's claim: a tool it once listed as side-effecting stays high risk
    // when a later list (tools/list_changed, a restart) calls it read-only.
    const everHigh = this.mcpEverHigh.get(candidate.name) ?? new Set<string>();
    this.mcpEverHigh.set(candidate.name, everHigh);
    const checked = checkMcpTools(candidate.name, raw, {
      ...server,
      high_risk_tools: [...(server.high_risk_tools ?? []), ...everHigh],
    });
    for (const t of checked.tools) if (t.risk_level === "high") everHigh.add(t.mcp_name);
    for (const r of checked.refused) {
      this.writeLog(
        `[MCP] Error: tool "${r.tool}" of MCP server "${candidate.name}" was refused: ${r.category}: ${r.reason}. Fix: correct the tool in the server, or leave it unused; the server's other tools load.`,
      );
    }
    return {
      manifest: mcpManifest(candidate.name, server, checked.tools),
      names: new Map(checked.tools.map((t) => [t.name, t.mcp_name])),
      refused: checked.refused,
    };
  }

  private applyMcpTools(entry: Running, tools: McpTools): void {
    entry.manifest = tools.manifest;
    entry.mcpNames = tools.names;
    entry.status.tools = (tools.manifest.provides.tools ?? []).map((t) => t.name);
    entry.status.refused = tools.refused;
  }

  /** A new tool list (a restart, or tools/list_changed): checked, then swapped in at once. */
  private replaceMcpTools(entry: Running, tools: McpTools): void {
    const previous = { manifest: entry.manifest, names: entry.mcpNames, refused: entry.status.refused };
    this.applyMcpTools(entry, tools);
    try {
      this.deps.catalog.replacePlugin(entry.status.name, this.toolEntries(entry));
    } catch (error) {
      this.writeLog(
        `[MCP] Error: the new tool list of "${entry.status.name}" was refused: ${whatOf(error)}. Fix: rename the tool in the server.`,
      );
      this.applyMcpTools(entry, {
        manifest: previous.manifest,
        names: previous.names ?? new Map(),
        refused: previous.refused ?? [],
      });
      return;
    }
    this.revision++;
  }

  private onMcpToolsChanged(entry: Running, raw: unknown): void {
    if (entry.status.state !== "healthy") return;
    const tools = this.checkedMcpTools(entry.candidate, raw);
    this.replaceMcpTools(entry, tools);
    this.auditQuietly({
      kind: "event",
      outcome: "info",
      detail: {
        event: "mcp tools changed",
        plugin: entry.status.name,
        tools: entry.status.tools,
        refused: tools.refused.map((r) => r.tool),
      },
    });
  }

  private fail(candidate: Candidate, p: PluginProblem, version: string | null, detail?: string): void {
    const status = statusOf(candidate, "failed", [], version);
    status.category = p.category;
    status.reason = p.message;
    if (detail) status.detail = cleanDetail(detail);
    this.failedOrSkipped.push(status);
    this.revision++;
    this.writeLog(
      `[PLUGINS] Error: plugin "${candidate.name}" (${candidate.source}) was not loaded: ${p.category}: ${p.message}${status.detail ? ` (${status.detail})` : ""}. Fix: run \`carapace plugin validate ${candidate.dir ?? candidate.name}\` and correct what it reports; the other plugins keep running.`,
    );
    this.auditQuietly({
      kind: "event",
      outcome: "error",
      detail: {
        event: "plugin failed",
        plugin: candidate.name,
        source: candidate.source,
        category: p.category,
        reason: p.message,
      },
    });
  }

  /**
   * Delivers a published event to every healthy plugin subscribed to its topic whose allowed_groups
   * include the event's group (core events reach every subscriber), never to its publisher.
   */
  deliver(envelope: Envelope): void {
    for (const entry of this.running.values()) {
      const { status, manifest } = entry;
      if (!takesTopic(entry, envelope.topic)) continue;
      if (envelope.source === `plugin:${status.name}`) continue;
      const group = envelope.group === CORE_EVENT_GROUP ? null : envelope.group;
      if (group && !allowsGroup(manifest, group)) continue;
      const scope = { group, sessionId: group ? envelope.session : null, correlation: envelope.correlation };
      this.ask(entry, TO_PLUGIN.event, { envelope }, scope, this.deps.limits().handlerTimeoutMs).catch(
        (error: unknown) => {
          const what = error instanceof InvokeFailure && error.code === "PLUGIN_TIMEOUT" ? "timed out" : "failed";
          this.writeLog(`[plugin ${status.name}] warn: handleEvent(${envelope.topic}) ${what}`);
        },
      );
    }
  }

  /** Whether some running plugin's handleEvent would be given an event on `topic` (before its group checks). */
  takesEvent(topic: string): boolean {
    for (const entry of this.running.values()) if (takesTopic(entry, topic)) return true;
    return false;
  }

  /**
   * The session brief for a new session of `group`: the text of every healthy plugin that offers
   * one (sessionBrief) and serves the group, each within `budgetMs`; null when there is none.
   */
  async briefFor(group: string, budgetMs: number): Promise<string | null> {
    const offering = [...this.running.values()].filter(
      (e) => e.status.state === "healthy" && e.hooks.includes("sessionBrief") && allowsGroup(e.manifest, group),
    );
    const parts = await Promise.all(
      offering.map(async (e) => {
        try {
          const text = await this.ask(
            e,
            TO_PLUGIN.brief,
            { group },
            { group, sessionId: null, correlation: null },
            budgetMs,
          );
          return typeof text === "string" && text.trim() ? text : null;
        } catch {
          this.writeLog(
            `[plugin ${e.status.name}] warn: no session brief within ${budgetMs} ms; the session starts without it`,
          );
          return null;
        }
      }),
    );
    const texts = parts.filter((t): t is string => t !== null);
    return texts.length > 0 ? texts.join("\n\n") : null;
  }

  /** The router that decides what channel plugins' messages and button presses mean (the agent layer's). */
  attachChannels(desk: ChannelDesk): void {
    this.channelDesk = desk;
  }

  /** The plugin that provides `channel`, with its state, or null when none does. */
  channelProvider(channel: string): { plugin: string; state: PluginStatus["state"] } | null {
    for (const e of this.running.values())
      if ((e.manifest.provides.channels ?? []).includes(channel))
        return { plugin: e.status.name, state: e.status.state };
    return null;
  }

  /**
   * Asks the plugin that provides `channel` to send something to its chat service. Fails with
   * InvokeFailure (PLUGIN_UNAVAILABLE, PLUGIN_TIMEOUT) like a tool call when it cannot.
   */
  async deliverToChannel(channel: string, delivery: ChannelDelivery): Promise<DeliveryReceipt> {
    const entry = [...this.running.values()].find((e) => (e.manifest.provides.channels ?? []).includes(channel));
    if (!entry?.hooks.includes("deliver"))
      throw new InvokeFailure("PLUGIN_UNAVAILABLE", `no running plugin delivers to channel ${channel}`);
    const receipt = (await this.ask(
      entry,
      TO_PLUGIN.deliver,
      { delivery },
      { group: null, sessionId: null, correlation: null },
      this.deps.limits().handlerTimeoutMs,
    )) as DeliveryReceipt | null;
    return typeof receipt?.message === "string" ? { message: receipt.message } : {};
  }

  /** Stops every plugin: its tools answer PLUGIN_UNAVAILABLE at once; shutdown() gets its time limit. */
  async shutdown(): Promise<void> {
    this.stopping = true;
    const limit = this.deps.limits().pluginShutdownTimeoutMs;
    const all = [...this.running.values()];
    for (const e of all) if (e.restartTimer) clearTimeout(e.restartTimer);
    const running = all.filter((e) => e.status.state === "healthy" || e.status.state === "restarting");
    for (const e of running) {
      e.status.state = "stopping";
      this.deps.publish(CORE_IDENTITY, "plugin.stopping", { plugin: e.status.name });
    }
    await Promise.all(
      running.map(async (e) => {
        const outcome = (await e.proc?.stop(limit)) ?? "stopped";
        if (outcome === "killed")
          this.writeLog(`[plugin ${e.status.name}] warn: shutdown() did not finish within ${limit} ms`);
        e.status.state = "stopped";
      }),
    );
  }
}

/** The catalog entries of a manifest's tools; how they answer is the caller's. */
function catalogEntries(
  manifest: Manifest,
  plugin: string,
  answer: {
    available: () => boolean;
    invoke: (tool: string, args: Record<string, unknown>, context: ToolContext) => Promise<unknown> | unknown;
  },
): ToolEntry[] {
  // No allowed_groups in the manifest means every group, like the built-ins; `plugin validate` warns.
  const allowed = manifest.allowed_groups ?? ["*"];
  return (manifest.provides.tools ?? []).map((tool) => ({
    name: tool.name,
    description: tool.description,
    risk_level: tool.risk_level,
    arguments_schema: tool.arguments_schema,
    allowed_groups: allowed,
    plugin,
    available: answer.available,
    invoke: (args: Record<string, unknown>, context: ToolContext) => answer.invoke(tool.name, args, context),
  }));
}

/** A freshly launched, healthy plugin process as the host tracks it. */
function healthyEntry(
  candidate: Candidate,
  manifest: Manifest,
  tools: string[],
  launched: { proc: PluginProcess; hooks: PluginHook[] },
): Running {
  return {
    candidate,
    manifest,
    status: statusOf(candidate, "healthy", tools, manifest.version),
    proc: launched.proc,
    hooks: launched.hooks,
    crashes: [],
    restartTimer: null,
    viewsSent: new Map(),
    probing: false,
  };
}
