import { CARAPACE_VERSION } from "../config/version.ts";
import { cleanStaleSessionDirs } from "../container/sockets.ts";
import { Catalog, type ToolEntry } from "../plugins/catalog.ts";
import { PluginHost, type PluginHostDeps, type ReloadOutcome } from "../plugins/host.ts";
import { mcpServerViews } from "../plugins/mcp/status-view.ts";
import { sessionSkills } from "../plugins/skills.ts";
import { type Envelope, mintIdentity, type SessionIdentity } from "../protocol/envelope.ts";
import type { Limits } from "../protocol/limits.ts";
import type { ReplyFrame } from "../protocol/reply.ts";
import { AuditCheckpoints } from "./audit-checkpoints.ts";
import { callLimiters } from "./call-limiters.ts";
import { callTracer } from "./call-trace.ts";
import { Calls } from "./calls.ts";
import type { ChannelServices } from "./channel-services.ts";
import { ConfirmationGate } from "./confirmations.ts";
import type { AgentServices, ControlServices, CoreStatus, SchedulerServices, SessionDoor } from "./core-services.ts";
import { decisionAuditEntry } from "./decision-audit.ts";
import { EventBus, eventsSocketPath, type TopicFilter } from "./events.ts";
import { coreTools } from "./intrinsic/core-tools.ts";
import { helloTools } from "./intrinsic/hello.ts";
import { MemoryReturn } from "./memory-return.ts";
import { publishApproval } from "./operator-events.ts";
import { authorizeAndRateLimit } from "./pipeline/authorize.ts";
import { compose } from "./pipeline/compose.ts";
import { confirmation } from "./pipeline/confirm.ts";
import { construct } from "./pipeline/construct.ts";
import { dispatch } from "./pipeline/dispatch.ts";
import { frameLimits } from "./pipeline/frame-limits.ts";
import { payloadValidation } from "./pipeline/payload.ts";
import { topicWhitelist } from "./pipeline/topic.ts";
import type { Checkpoint } from "./response/audit-checkpoint.ts";
import { AuditLog } from "./response/audit-log.ts";
import { watchKnownSecrets } from "./response/known-secrets.ts";
import { RejectionAggregator } from "./response/rejection-aggregator.ts";
import { type Session, SessionRegistry } from "./sessions.ts";

export interface ServerOptions {
  home: string;
  limits: (group?: string) => Limits;
  helloEnabled: boolean;
  debug?: { traceFilter?: string };
  /** Which plugins to load ([plugins] dirs/disabled); default: built-ins and the home's plugins. */
  plugins?: PluginHostDeps["settings"];
  /** A plugin's config section; {} when it has none. */
  pluginConfig?: (plugin: string) => Readonly<Record<string, unknown>>;
  /** More tools of the core's own, beside the intrinsic ones (an embedding test's fixtures). */
  tools?: readonly ToolEntry[];
  /** `[mcp.servers.*]`: MCP servers run as plugins through the bridge. */
  mcpServers?: PluginHostDeps["mcpServers"];
}

const AUDIT_SYNC_INTERVAL_MS = 5;

/** The composition root: sessions, the six-stage pipeline, the response path, events; its start and stop. */
export class CoreServer {
  private readonly catalog = new Catalog();
  private readonly confirmations = new ConfirmationGate();
  private readonly audit: AuditLog;
  private readonly sessions: SessionRegistry;
  private readonly plugins: PluginHost;
  private readonly startedAt = Date.now();
  private readonly events: EventBus;
  private readonly calls: Calls;
  private readonly checkpoints: AuditCheckpoints;
  private readonly rejections: RejectionAggregator;
  private stopping = false;
  private readonly memory = new MemoryReturn();
  /** Run once when the next call ends (at most one per audit log is waiting). */
  private readonly afterCall: (() => void)[] = [];
  private stopSecretWatch: () => void = () => {};

  constructor(private readonly options: ServerOptions) {
    const defaults = options.limits();
    // Grouped commits (docs/ARCHITECTURE.md, "Audit durability"): a record is written before its reply leaves; fsync and the
    // head file follow every few ms and at shutdown, so one caller does not pay an fsync per call.
    // A commit due when a call ends (its records written, its reply sent) starts there, not on a timer.
    this.audit = new AuditLog(options.home, {
      syncIntervalMs: AUDIT_SYNC_INTERVAL_MS,
      whenIdle: (fn) => this.afterCall.push(fn),
    });
    this.rejections = new RejectionAggregator(this.audit);
    this.checkpoints = new AuditCheckpoints(options.home, this.audit);
    this.events = new EventBus(eventsSocketPath(options.home));
    const limiters = callLimiters(options.limits, (key) => this.sessions.get(key)?.identity.group);
    const pipeline = compose([
      frameLimits,
      construct,
      topicWhitelist(this.catalog),
      payloadValidation,
      authorizeAndRateLimit(this.catalog, limiters),
      confirmation(this.confirmations),
      dispatch,
    ]);
    this.calls = new Calls({
      pipeline,
      audit: this.audit,
      rejections: this.rejections,
      limits: options.limits,
      publish: (...a) => this.publish(...a),
      trace: callTracer(options.debug),
      stopping: () => this.stopping,
      callEnded: () => {
        this.memory.activity();
        for (const fn of this.afterCall.splice(0)) fn();
      },
    });
    this.sessions = new SessionRegistry(
      options.home,
      (session, peer, frames, overflow) => this.calls.onFrame(session, peer, frames, overflow),
      { maxMessageBytes: defaults.maxFrameBytes, replyCacheSize: defaults.replyCacheSize },
      (session, reason) => this.calls.onPeerCutOff(session, reason),
    );
    this.confirmations.onDecision((d) => void this.audit.appendEvent(decisionAuditEntry(d)));
    this.confirmations.subscribe((pending, state) => {
      const identity =
        this.sessions.get(pending.session)?.identity ?? mintIdentity(pending.session, pending.group, "cli");
      publishApproval((...a) => this.publish(...a), pending, state, identity);
    });
    if (options.helloEnabled) for (const t of helloTools()) this.catalog.register(t);
    for (const t of options.tools ?? []) this.catalog.register(t);
    this.plugins = new PluginHost({
      home: options.home,
      catalog: this.catalog,
      audit: this.audit,
      limits: () => options.limits(),
      publish: (identity, topic, payload, correlation) => this.publish(identity, topic, payload, correlation),
      ...(options.plugins ? { settings: options.plugins } : {}),
      ...(options.pluginConfig ? { configFor: options.pluginConfig } : {}),
      ...(options.mcpServers ? { mcpServers: options.mcpServers } : {}),
    });
    this.onEvent(
      (envelope) => this.plugins.deliver(envelope),
      (topic) => this.plugins.takesEvent(topic),
    );
    const intrinsic = { catalog: this.catalog, audit: this.audit, pluginStatuses: () => this.plugins.statuses() };
    for (const t of coreTools(intrinsic)) this.catalog.register(t);
  }

  /** What the agent manager may use of the core. */
  forAgents(): AgentServices {
    return {
      events: this.events,
      sessions: this.sessionDoor,
      audit: this.audit,
      briefing: {
        tools: (group) => this.toolsFor(group),
        skills: (group) => sessionSkills(this.plugins.statuses(), this.catalog, group),
        brief: (group, budgetMs) => this.plugins.briefFor(group, budgetMs),
      },
      approvals: this.confirmations,
    };
  }

  /** What the control socket may use of the core. */
  forControl(): ControlServices {
    return {
      status: () => this.status(),
      sessions: this.sessionDoor,
      approvals: this.confirmations,
      toolsFor: (group) => this.toolsFor(group),
      callAsOperator: (tool, args, group, caller) => this.callAsOperator(tool, args, group, caller),
      checkpoint: () => this.checkpoint(),
      checkpointCount: () => this.checkpointCount(),
      mcpServers: () => mcpServerViews(this.plugins.statuses(), this.catalog),
    };
  }

  /** What the channel router may use of the core. */
  forChannels(): ChannelServices {
    return {
      audit: this.audit,
      events: this.events,
      approvals: this.confirmations,
      deliver: (channel, delivery) => this.plugins.deliverToChannel(channel, delivery),
      providerState: (channel) => this.plugins.channelProvider(channel)?.state ?? null,
      attachDesk: (desk) => this.plugins.attachChannels(desk),
    };
  }

  /** What the scheduler may use of the core. */
  forScheduler(): SchedulerServices {
    return {
      events: this.events,
      audit: this.audit,
      registerTools: (tools) => {
        for (const t of tools) this.catalog.register(t);
      },
      deliver: (channel, delivery) => this.plugins.deliverToChannel(channel, delivery),
    };
  }

  /** `carapace start --watch`: a plugin whose folder changed is reloaded. */
  reloadPlugin(name: string, cacheKey?: string): Promise<ReloadOutcome> {
    return this.plugins.reload(name, cacheKey);
  }

  private readonly sessionDoor: SessionDoor = {
    open: (group, source, agentUser, reserved) => this.openSession(group, source, agentUser, reserved),
    close: (id) => this.closeSession(id),
  };

  private toolsFor(group: string): ToolEntry[] {
    return this.catalog.list().filter((t) => this.catalog.allows(t, group));
  }

  private status(): CoreStatus {
    return {
      uptime_s: Math.round((Date.now() - this.startedAt) / 1000),
      sessions: this.sessions
        .list()
        .map((x) => ({ id: x.id, group: x.identity.group, source: x.identity.source, inflight: x.inflight.size })),
      pending_confirmations: this.confirmations.list().length,
      tools: this.catalog.list().length,
      events_socket: this.events.path,
      dropped_frames: this.calls.droppedFrames,
      unwritten_audit_records: this.audit.unwrittenEvents,
    };
  }

  /** Frames dropped before any stage could read them, and peers cut off at the transport. */
  get droppedFrames(): number {
    return this.calls.droppedFrames;
  }

  /** Binds the events socket, then loads plugins (a failing plugin is recorded, never fatal). */
  async start(): Promise<void> {
    cleanStaleSessionDirs(this.options.home, []);
    this.stopSecretWatch = watchKnownSecrets(this.options.home);
    this.events.bind();
    const signed = await this.checkpoints.start();
    // The count lets `audit verify` notice checkpoints removed from the file later.
    void this.audit.appendEvent({
      kind: "session",
      outcome: "info",
      detail: { event: "core started", version: CARAPACE_VERSION, checkpoints: signed },
    });
    await this.plugins.load();
  }

  publish(identity: SessionIdentity, topic: string, payload: unknown, correlation: string | null = null): void {
    this.events.publish(identity, topic, payload, correlation);
  }

  /** In-process consumers of published events (e.g. plugins' handleEvent); returns an unsubscribe. */
  onEvent(listener: (envelope: Envelope) => void, wants?: TopicFilter): () => void {
    return this.events.onEvent(listener, wants);
  }

  /** `agentUser` (uid:gid): the socket is handed to the container's unprivileged user. */
  openSession(group: string, source: string, agentUser?: string, reserved?: string): Session {
    if (this.stopping) throw new Error("[CORE] Error: the core is stopping. Fix: start it again.");
    const max = this.options.limits(group).maxSessionsPerGroup;
    if (this.sessions.countForGroup(group) >= max) {
      throw new Error(
        `[SESSION] Error: group ${group} already has ${max} sessions. Fix: close one, or raise max_sessions_per_group.`,
      );
    }
    const session = this.sessions.open(group, source, agentUser, reserved);
    void this.audit.appendEvent({
      kind: "session",
      outcome: "info",
      group,
      session: session.id,
      detail: { event: "opened", source, ...(reserved !== undefined ? { prestarted: true } : {}) },
    });
    this.publish(session.identity, "session.opened", { source });
    return session;
  }

  closeSession(id: string): boolean {
    const session = this.sessions.close(id);
    if (!session) return false;
    void this.audit.appendEvent({
      kind: "session",
      outcome: "info",
      group: session.identity.group,
      session: id,
      detail: { event: "closed" },
    });
    this.publish(session.identity, "session.closed", {});
    this.memory.activity();
    return true;
  }

  /** `carapace call`: the operator runs a tool through the same six stages (source `cli`). */
  callAsOperator(
    tool: string,
    args: unknown,
    group: string,
    caller: { signal?: AbortSignal; alive?: () => boolean } = {},
  ): Promise<ReplyFrame> {
    return this.calls.fromOperator(tool, args, group, caller);
  }

  /** Signs the durable heads of the logs now; null when nothing changed or checkpoints are off. */
  checkpoint(): Promise<Checkpoint | null> {
    return this.checkpoints.checkpoint();
  }

  checkpointCount(): number {
    return this.checkpoints.count();
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.checkpoints.stopTimer();
    this.confirmations.cancelAll();
    // Give in-flight calls a moment to answer (they get PLUGIN_UNAVAILABLE if cancelled).
    const deadline = Date.now() + 2_000;
    while (this.sessions.list().some((s) => s.inflight.size > 0) && Date.now() < deadline) await Bun.sleep(10);
    // Cancel what is still running while the sockets are open, so each caller gets PLUGIN_UNAVAILABLE
    // and each call its audit record, instead of a silent socket close.
    for (const s of this.sessions.list()) for (const c of s.inflight) c.abort();
    const drain = Date.now() + 500;
    while (this.sessions.list().some((s) => s.inflight.size > 0) && Date.now() < drain) await Bun.sleep(5);
    for (const s of this.sessions.list()) this.closeSession(s.id);
    await this.plugins.shutdown();
    await this.rejections.flush();
    await this.audit.appendEvent({ kind: "session", outcome: "info", detail: { event: "core stopped" } });
    await this.audit.close();
    await this.checkpoints.checkpoint();
    this.stopSecretWatch();
    this.memory.stop();
    this.events.close();
  }
}
