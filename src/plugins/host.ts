/**
 * The plugins of a running core: loads them (a failing one is excluded and recorded, never fatal),
 * registers their tools in the catalog, delivers subscribed events, and shuts them down in time.
 */
import type { Catalog, ToolEntry } from "../core/catalog.ts";
import type { AuditLog } from "../core/response/audit-log.ts";
import { sanitizeText } from "../core/response/sanitize.ts";
import { stripTerminalEscapes } from "../core/response/terminal-text.ts";
import { type Envelope, mintIdentity, type SessionIdentity } from "../protocol/envelope.ts";
import type { Limits } from "../protocol/limits.ts";
import { PluginLoadError, type PluginProblem, problem } from "./failure.ts";
import {
  type Candidate,
  discoverPlugins,
  importHandler,
  type LoaderSettings,
  prepareCandidate,
  statusOf,
} from "./loader.ts";
import type { Manifest } from "./manifest-schema.ts";
import { runInScope } from "./request-scope.ts";
import type { PluginHandler } from "./sdk/types.ts";
import { createServices } from "./services.ts";
import type { PluginStatus } from "./status.ts";
import { withTimeout } from "./timeout.ts";

/** Core events (plugin.ready, plugin.stopping) belong to no group. */
export const CORE_EVENT_GROUP = "_core";
const CORE_IDENTITY = mintIdentity("core", CORE_EVENT_GROUP, "core");

export interface PluginHostDeps {
  home: string;
  catalog: Catalog;
  audit: AuditLog;
  limits(): Limits;
  publish(identity: SessionIdentity, topic: string, payload: unknown): void;
  settings?: Omit<LoaderSettings, "home">;
  /** A plugin's config section; {} when it has none. */
  configFor?(plugin: string): Readonly<Record<string, unknown>>;
  writeLog?(line: string): void;
}

export type ReloadOutcome =
  | { ok: true; tools: string[]; version: string }
  | { ok: false; problem: PluginProblem; detail?: string };

interface Loaded {
  status: PluginStatus;
  manifest: Manifest;
  handler: PluginHandler;
}

function topicMatches(pattern: string, topic: string): boolean {
  return pattern.endsWith(".*") ? topic.startsWith(pattern.slice(0, -1)) : pattern === topic;
}

export class PluginHost {
  private readonly loaded = new Map<string, Loaded>();
  private failedOrSkipped: PluginStatus[] = [];
  private loadStarted = false;
  private readonly writeLog: (line: string) => void;

  constructor(private readonly deps: PluginHostDeps) {
    this.writeLog = deps.writeLog ?? ((line) => process.stderr.write(`${line}\n`));
  }

  /** Every plugin the core considered, in load order: healthy, failed, disabled, overridden, stopped. */
  statuses(): PluginStatus[] {
    return [...[...this.loaded.values()].map((l) => l.status), ...this.failedOrSkipped];
  }

  async load(): Promise<void> {
    if (this.loadStarted) return;
    this.loadStarted = true;
    const discovery = discoverPlugins({ home: this.deps.home, ...(this.deps.settings ?? {}) });
    this.failedOrSkipped.push(...discovery.skipped);
    const taken = new Map(this.deps.catalog.list().map((t) => [t.name, t.plugin]));
    const accepted: { candidate: Candidate; manifest: Manifest }[] = [];
    for (const candidate of discovery.candidates) {
      let prepared: ReturnType<typeof prepareCandidate>;
      try {
        prepared = prepareCandidate(candidate, taken);
      } catch (error) {
        // An unreadable folder (EACCES, a race with a deletion) fails this plugin only.
        const code = (error as NodeJS.ErrnoException).code ?? "unknown error";
        this.fail(candidate, problem("import_failed", `${candidate.label} could not be read (${code})`), null);
        continue;
      }
      const first = prepared.problems[0];
      if (!prepared.manifest || first) {
        this.fail(candidate, first ?? problem("manifest_invalid", "the manifest was refused"), null);
        continue;
      }
      for (const tool of prepared.manifest.provides.tools ?? []) taken.set(tool.name, candidate.name);
      accepted.push({ candidate, manifest: prepared.manifest });
    }
    // Initialize concurrently: one slow plugin costs at most one init timeout, not one each.
    await Promise.all(accepted.map(({ candidate, manifest }) => this.start(candidate, manifest)));
  }

  private async start(candidate: Candidate, manifest: Manifest): Promise<void> {
    let handler: PluginHandler;
    try {
      handler = await importHandler(candidate);
    } catch (error) {
      const p =
        error instanceof PluginLoadError ? error.problem : problem("import_failed", "handler.ts failed to load");
      return this.fail(candidate, p, manifest.version, error instanceof PluginLoadError ? error.detail : undefined);
    }
    const services = this.servicesFor(candidate.name, manifest);
    const limit = this.deps.limits().pluginInitTimeoutMs;
    let outcome: Awaited<ReturnType<typeof withTimeout>>;
    try {
      outcome = await withTimeout(
        () =>
          runInScope({ group: null, sessionId: null, correlation: null, source: "core" }, () =>
            handler.initialize(services),
          ),
        limit,
      );
    } catch (error) {
      const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      return this.fail(candidate, problem("init_failed", "initialize() threw an error"), manifest.version, detail);
    }
    if (outcome === "timeout") {
      return this.fail(
        candidate,
        problem("init_timeout", `initialize() did not finish within ${limit} ms`),
        manifest.version,
      );
    }
    const tools = (manifest.provides.tools ?? []).map((t) => t.name);
    const status = statusOf(candidate, "healthy", tools, manifest.version);
    this.loaded.set(candidate.name, { status, manifest, handler });
    try {
      this.deps.catalog.replacePlugin(candidate.name, this.toolEntries(candidate.name, manifest, handler, status));
    } catch (error) {
      this.loaded.delete(candidate.name);
      const p = problem(
        "duplicate_tool",
        (error as Error).message.replace(/^\[\w+\] Error: /, "").replace(/ Fix: .*$/, ""),
      );
      return this.fail(candidate, p, manifest.version);
    }
    void this.deps.audit
      .append({
        kind: "event",
        outcome: "info",
        topic: "plugin.ready",
        detail: { plugin: candidate.name, source: candidate.source, tools },
      })
      .catch(() => {});
    this.deps.publish(CORE_IDENTITY, "plugin.ready", {
      plugin: candidate.name,
      version: manifest.version,
      source: candidate.source,
      tools,
    });
  }

  /**
   * Hot reload of one plugin (`start --watch`): every check again, handler.ts imported afresh and
   * initialized; only then are its tools swapped in, in one step. On any failure the version already
   * loaded keeps serving and the problem is returned for the operator.
   */
  async reload(name: string, cacheKey: string): Promise<ReloadOutcome> {
    const discovery = discoverPlugins({ home: this.deps.home, ...(this.deps.settings ?? {}) });
    const candidate = discovery.candidates.find((c) => c.name === name);
    if (!candidate?.dir) return { ok: false, problem: problem("import_failed", `no enabled plugin folder ${name}`) };
    const taken = new Map(this.deps.catalog.list().flatMap((t) => (t.plugin === name ? [] : [[t.name, t.plugin]])));
    let prepared: ReturnType<typeof prepareCandidate>;
    try {
      prepared = prepareCandidate(candidate, taken as Map<string, string>);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? "unknown error";
      return { ok: false, problem: problem("import_failed", `${candidate.label} could not be read (${code})`) };
    }
    const manifest = prepared.manifest;
    const first = prepared.problems[0];
    if (!manifest || first)
      return { ok: false, problem: first ?? problem("manifest_invalid", "the manifest was refused") };
    let handler: PluginHandler;
    try {
      handler = await importHandler(candidate, cacheKey);
    } catch (error) {
      if (!(error instanceof PluginLoadError)) throw error;
      const detail = error.detail ? stripTerminalEscapes(sanitizeText(error.detail)) : undefined;
      return { ok: false, problem: error.problem, ...(detail ? { detail } : {}) };
    }
    const services = this.servicesFor(name, manifest);
    const limit = this.deps.limits().pluginInitTimeoutMs;
    const scope = { group: null, sessionId: null, correlation: null, source: "core" };
    try {
      const outcome = await withTimeout(() => runInScope(scope, () => handler.initialize(services)), limit);
      if (outcome === "timeout") {
        return { ok: false, problem: problem("init_timeout", `initialize() did not finish within ${limit} ms`) };
      }
    } catch (error) {
      const detail = stripTerminalEscapes(sanitizeText(String((error as Error)?.message ?? error))).slice(0, 300);
      return { ok: false, problem: problem("init_failed", "initialize() threw an error"), detail };
    }
    const tools = (manifest.provides.tools ?? []).map((t) => t.name);
    const status = statusOf(candidate, "healthy", tools, manifest.version);
    const previous = this.loaded.get(name);
    this.deps.catalog.replacePlugin(name, this.toolEntries(name, manifest, handler, status));
    this.loaded.set(name, { status, manifest, handler });
    this.failedOrSkipped = this.failedOrSkipped.filter((s) => s.name !== name || s.state !== "failed");
    if (previous) {
      previous.status.state = "stopped";
      const stopOld = previous.handler.shutdown?.bind(previous.handler);
      void withTimeout(() => stopOld?.(), this.deps.limits().pluginShutdownTimeoutMs).catch(() => {});
    }
    void this.deps.audit
      .append({
        kind: "event",
        outcome: "info",
        topic: "plugin.ready",
        detail: { plugin: name, reloaded: true, tools },
      })
      .catch(() => {});
    this.deps.publish(CORE_IDENTITY, "plugin.ready", {
      plugin: name,
      version: manifest.version,
      source: candidate.source,
      tools,
    });
    return { ok: true, tools, version: manifest.version };
  }

  /** The CoreServices of one plugin, scoped to it (and per call to the caller's group). */
  private servicesFor(plugin: string, manifest: Manifest) {
    return createServices({
      plugin,
      manifest,
      home: this.deps.home,
      audit: this.deps.audit,
      catalog: this.deps.catalog,
      statuses: () => this.statuses(),
      publish: this.deps.publish,
      config: this.deps.configFor?.(plugin) ?? {},
      writeLog: this.writeLog,
    });
  }

  private toolEntries(plugin: string, manifest: Manifest, handler: PluginHandler, status: PluginStatus): ToolEntry[] {
    // No allowed_groups in the manifest means every group, like the built-ins; `plugin validate` warns.
    const allowed = manifest.allowed_groups ?? ["*"];
    return (manifest.provides.tools ?? []).map((tool) => ({
      name: tool.name,
      description: tool.description,
      risk_level: tool.risk_level,
      arguments_schema: tool.arguments_schema,
      allowed_groups: allowed,
      plugin,
      available: () => status.state === "healthy",
      invoke: (args, context) =>
        runInScope(
          {
            group: context.group,
            sessionId: context.sessionId,
            correlation: context.correlation,
            source: context.source,
          },
          () => handler.handleToolInvocation(tool.name, args, context),
        ),
    }));
  }

  private fail(candidate: Candidate, p: PluginProblem, version: string | null, detail?: string): void {
    const status = statusOf(candidate, "failed", [], version);
    status.category = p.category;
    status.reason = p.message;
    if (detail) status.detail = stripTerminalEscapes(sanitizeText(detail)).slice(0, 500);
    this.failedOrSkipped.push(status);
    this.writeLog(
      `[PLUGINS] Error: plugin "${candidate.name}" (${candidate.source}) was not loaded: ${p.category}: ${p.message}${status.detail ? ` (${status.detail})` : ""}. Fix: run \`carapace plugin validate ${candidate.dir ?? candidate.name}\` and correct what it reports; the other plugins keep running.`,
    );
    void this.deps.audit
      .append({
        kind: "event",
        outcome: "error",
        detail: {
          event: "plugin failed",
          plugin: candidate.name,
          source: candidate.source,
          category: p.category,
          reason: p.message,
        },
      })
      .catch(() => {});
  }

  /** Delivers a published event to every healthy plugin subscribed to its topic (never to its publisher). */
  deliver(envelope: Envelope): void {
    for (const { status, manifest, handler } of this.loaded.values()) {
      if (status.state !== "healthy" || !handler.handleEvent) continue;
      if (!(manifest.subscribes ?? []).some((p) => topicMatches(p, envelope.topic))) continue;
      if (envelope.source === `plugin:${status.name}`) continue;
      const group = envelope.group === CORE_EVENT_GROUP ? null : envelope.group;
      const onEvent = handler.handleEvent.bind(handler);
      void withTimeout(
        () =>
          runInScope({ group, sessionId: group ? envelope.session : null, correlation: null, source: "event" }, () =>
            onEvent(envelope),
          ),
        this.deps.limits().handlerTimeoutMs,
      )
        .then((outcome) => {
          if (outcome === "timeout")
            this.writeLog(`[plugin ${status.name}] warn: handleEvent(${envelope.topic}) timed out`);
        })
        .catch((error: unknown) => {
          const text = stripTerminalEscapes(sanitizeText(String((error as Error)?.message ?? error))).slice(0, 300);
          this.writeLog(`[plugin ${status.name}] error: handleEvent(${envelope.topic}) failed: ${text}`);
        });
    }
  }

  /** Stops every healthy plugin: its tools answer PLUGIN_UNAVAILABLE at once; shutdown() gets its time limit. */
  async shutdown(): Promise<void> {
    const limit = this.deps.limits().pluginShutdownTimeoutMs;
    const running = [...this.loaded.values()].filter((l) => l.status.state === "healthy");
    for (const l of running) {
      l.status.state = "stopping";
      this.deps.publish(CORE_IDENTITY, "plugin.stopping", { plugin: l.status.name });
    }
    await Promise.all(
      running.map(async (l) => {
        try {
          const outcome = await withTimeout(() => l.handler.shutdown?.(), limit);
          if (outcome === "timeout")
            this.writeLog(`[plugin ${l.status.name}] warn: shutdown() did not finish within ${limit} ms`);
        } catch (error) {
          const text = stripTerminalEscapes(sanitizeText(String((error as Error)?.message ?? error))).slice(0, 300);
          this.writeLog(`[plugin ${l.status.name}] error: shutdown() failed: ${text}`);
        }
        l.status.state = "stopped";
      }),
    );
  }
}
