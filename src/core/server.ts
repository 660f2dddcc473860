import { existsSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { homePath } from "../config/home.ts";
import { CARAPACE_VERSION } from "../config/version.ts";
import { cleanStaleSessionDirs } from "../container/sockets.ts";
import { PluginHost, type PluginHostDeps } from "../plugins/host.ts";
import { callerDeadline } from "../protocol/deadline-correlation.ts";
import { buildEventEnvelope, type Envelope, mintIdentity, type SessionIdentity } from "../protocol/envelope.ts";
import { type ErrorObject, errorObject } from "../protocol/errors.ts";
import type { Limits } from "../protocol/limits.ts";
import type { ReplyFrame } from "../protocol/reply.ts";
import { toInvokeTopic } from "../protocol/topics.ts";
import { PubSocket } from "../transport/sockets.ts";
import { runCall } from "./call-runner.ts";
import { Catalog } from "./catalog.ts";
import { ConfirmationGate, type DecisionRecord } from "./confirmations.ts";
import { coreTools } from "./intrinsic/core-tools.ts";
import { helloTools } from "./intrinsic/hello.ts";
import { publishApproval, publishCallOutcome } from "./operator-events.ts";
import { authorizeAndRateLimit } from "./pipeline/authorize.ts";
import { compose } from "./pipeline/compose.ts";
import { confirmation } from "./pipeline/confirm.ts";
import { construct } from "./pipeline/construct.ts";
import type { CallContext } from "./pipeline/context.ts";
import { dispatch } from "./pipeline/dispatch.ts";
import { frameLimits, readFrame } from "./pipeline/frame-limits.ts";
import { payloadValidation } from "./pipeline/payload.ts";
import { TokenBucketLimiter } from "./pipeline/token-bucket.ts";
import { topicWhitelist } from "./pipeline/topic.ts";
import { requestHash } from "./reply-cache.ts";
import { type Checkpoint, CheckpointWriter } from "./response/audit-checkpoint.ts";
import { AuditLog } from "./response/audit-log.ts";
import { watchKnownSecrets } from "./response/known-secrets.ts";
import { logLine } from "./response/log-stream.ts";
import { RejectionAggregator } from "./response/rejection-aggregator.ts";
import { sanitizeText } from "./response/sanitize.ts";
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
}

const HEARTBEAT_MS = 2_000;
/** ipc's wait after a heartbeat: wait_ms plus this (src/ipc/call.ts). */
const HEARTBEAT_MARGIN_MS = 5_000;
const AUDIT_SYNC_INTERVAL_MS = 5;
/** How often the chain heads are signed (and at shutdown); a rewrite after the last one is not caught. */
const CHECKPOINT_INTERVAL_MS = 60_000;

/** The core's PUB socket: in run/sockets (0700), beside the session directories but never in one. */
export function eventsSocketPath(home: string): string {
  return join(homePath(home, "run/sockets"), "events.sock");
}

/** The composition root: sessions, the six-stage pipeline, the response path, events. */
export class CoreServer {
  readonly catalog = new Catalog();
  readonly confirmations = new ConfirmationGate();
  readonly audit: AuditLog;
  readonly sessions: SessionRegistry;
  readonly plugins: PluginHost;
  readonly startedAt = Date.now();
  private readonly eventListeners = new Set<(envelope: Envelope) => void>();
  private readonly pipeline: (ctx: CallContext) => Promise<void>;
  private events: PubSocket | null = null;
  private checkpoints: CheckpointWriter | null = null;
  private readonly rejections: RejectionAggregator;
  private checkpointTimer: ReturnType<typeof setInterval> | null = null;
  private signedCheckpoints = 0;
  private stopping = false;
  private stopSecretWatch: () => void = () => {};
  droppedFrames = 0;

  constructor(private readonly options: ServerOptions) {
    const defaults = options.limits();
    // Grouped commits (docs/ARCHITECTURE.md, "Audit durability"): a record is written before its reply leaves; fsync and the
    // head file follow every few ms and at shutdown, so one caller does not pay an fsync per call.
    this.audit = new AuditLog(options.home, { syncIntervalMs: AUDIT_SYNC_INTERVAL_MS });
    this.rejections = new RejectionAggregator(this.audit);
    const groupBucket = (key: string) => {
      const l = options.limits(key);
      return { ratePerMinute: l.rateLimitPerMinute, burst: l.rateLimitBurst };
    };
    const limiters = {
      perSession: new TokenBucketLimiter({
        ratePerMinute: defaults.rateLimitPerMinute,
        burst: defaults.rateLimitBurst,
        configFor: (sessionKey) => {
          const s = this.sessions.get(sessionKey);
          return s ? groupBucket(s.identity.group) : undefined;
        },
      }),
      perGroup: new TokenBucketLimiter({
        // A group's bucket holds what all its sessions may spend together.
        ratePerMinute: defaults.rateLimitPerMinute * defaults.maxSessionsPerGroup,
        burst: defaults.rateLimitBurst * defaults.maxSessionsPerGroup,
        configFor: (group) => {
          const l = options.limits(group);
          return {
            ratePerMinute: l.rateLimitPerMinute * l.maxSessionsPerGroup,
            burst: l.rateLimitBurst * l.maxSessionsPerGroup,
          };
        },
      }),
    };
    this.pipeline = compose([
      frameLimits,
      construct,
      topicWhitelist(this.catalog),
      payloadValidation,
      authorizeAndRateLimit(this.catalog, limiters),
      confirmation(this.confirmations),
      dispatch,
    ]);
    this.sessions = new SessionRegistry(
      options.home,
      (session, peer, frames, overflow) => this.onFrame(session, peer, frames, overflow),
      { maxMessageBytes: defaults.maxFrameBytes, replyCacheSize: defaults.replyCacheSize },
      (session, reason) => this.onPeerCutOff(session, reason),
    );
    this.confirmations.onDecision((d) => void this.auditDecision(d));
    this.confirmations.subscribe((pending, state) => {
      const identity =
        this.sessions.get(pending.session)?.identity ?? mintIdentity(pending.session, pending.group, "cli");
      publishApproval((...a) => this.publish(...a), pending, state, identity);
    });
    if (options.helloEnabled) for (const t of helloTools()) this.catalog.register(t);
    this.plugins = new PluginHost({
      home: options.home,
      catalog: this.catalog,
      audit: this.audit,
      limits: () => options.limits(),
      publish: (identity, topic, payload, correlation) => this.publish(identity, topic, payload, correlation),
      ...(options.plugins ? { settings: options.plugins } : {}),
      ...(options.pluginConfig ? { configFor: options.pluginConfig } : {}),
    });
    this.onEvent((envelope) => this.plugins.deliver(envelope));
    const intrinsic = { catalog: this.catalog, audit: this.audit, pluginStatuses: () => this.plugins.statuses() };
    for (const t of coreTools(intrinsic)) this.catalog.register(t);
  }

  /** Who decided which request (by its hash), how, and after how long: one record per confirmation. */
  private auditDecision(d: DecisionRecord): Promise<unknown> {
    const c = d.confirmation;
    return this.audit.appendEvent({
      kind: "confirmation",
      outcome: "info",
      group: c.group,
      session: c.session,
      topic: `tool.invoke.${c.tool}`,
      correlation: c.correlation || null,
      stage: 5,
      detail: {
        decision: d.decision,
        confirmation: c.id,
        request_hash: c.request_hash,
        approver: d.approver,
        waited_ms: d.waitedMs,
        ...(d.reason ? { reason: d.reason } : {}),
      },
    });
  }

  get eventsPath(): string {
    return eventsSocketPath(this.options.home);
  }

  /** Binds the events socket, then loads plugins (a failing plugin is recorded, never fatal). */
  async start(): Promise<void> {
    cleanStaleSessionDirs(this.options.home, []);
    this.stopSecretWatch = watchKnownSecrets(this.options.home);
    this.events = new PubSocket(`ipc://${this.eventsPath}`);
    let signed = 0;
    try {
      this.checkpoints = new CheckpointWriter(this.options.home);
      signed = await this.checkpoints.count();
      this.signedCheckpoints = signed;
      this.checkpointTimer = setInterval(() => void this.checkpoint(), CHECKPOINT_INTERVAL_MS);
    } catch (error) {
      logLine(
        `[AUDIT] Error: signed audit checkpoints are off (${sanitizeText((error as Error).message)}). Fix: check ${this.options.home}/credentials (mode 0700, yours), then restart.`,
      );
    }
    // The count lets `audit verify` notice checkpoints removed from the file later.
    void this.audit.appendEvent({
      kind: "session",
      outcome: "info",
      detail: { event: "core started", version: CARAPACE_VERSION, checkpoints: signed },
    });
    await this.plugins.load();
  }

  publish(identity: SessionIdentity, topic: string, payload: unknown, correlation: string | null = null): void {
    const envelope = buildEventEnvelope(identity, topic, payload, correlation);
    this.events?.publish(topic, JSON.stringify(envelope));
    for (const listener of this.eventListeners) {
      try {
        listener(envelope);
      } catch (error) {
        logLine(`[CORE] Error: an event listener failed on ${topic}: ${sanitizeText(String(error))}`);
      }
    }
  }

  /** In-process consumers of published events (e.g. plugins' handleEvent); returns an unsubscribe. */
  onEvent(listener: (envelope: Envelope) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  /** `agentUser` (uid:gid): the socket is handed to the container's unprivileged user. */
  openSession(group: string, source: string, agentUser?: string): Session {
    if (this.stopping) throw new Error("[CORE] Error: the core is stopping. Fix: start it again.");
    const max = this.options.limits(group).maxSessionsPerGroup;
    if (this.sessions.countForGroup(group) >= max) {
      throw new Error(
        `[SESSION] Error: group ${group} already has ${max} sessions. Fix: close one, or raise max_sessions_per_group.`,
      );
    }
    const session = this.sessions.open(group, source, agentUser);
    void this.audit.appendEvent({
      kind: "session",
      outcome: "info",
      group,
      session: session.id,
      detail: { event: "opened", source },
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
    return true;
  }

  private trace(
    identity: SessionIdentity,
    correlation: string | null,
    topic: string | null,
    hop: string,
    detail?: Record<string, unknown>,
  ): void {
    const filter = this.options.debug;
    if (!filter) return;
    if (filter.traceFilter && !(topic ?? "").startsWith(filter.traceFilter)) return;
    const line = `session=${identity.sessionId.slice(0, 8)} group=${identity.group} corr=${correlation ?? "-"} topic=${topic ?? "-"} ${hop}${detail ? ` ${JSON.stringify(detail)}` : ""}`;
    logLine(line, { level: "debug", component: "trace" });
  }

  /** A frame on a session socket: [empty, json] from a DEALER. Anything else is dropped and counted. */
  private onFrame(session: Session, peer: Uint8Array, frames: Uint8Array[], overflow: boolean): void {
    const [delimiter, body, ...extra] = frames;
    if (overflow || delimiter === undefined || delimiter.length !== 0 || body === undefined || extra.length > 0) {
      this.droppedFrames++;
      void this.rejections
        .record({
          kind: "dropped",
          outcome: "rejected",
          group: session.identity.group,
          session: session.id,
          stage: 3,
          code: "VALIDATION_FAILED",
          detail: { reason: "frame without a usable delimiter" },
        })
        .catch((error: unknown) => this.audit.reportUnwritten(error));
      return;
    }
    void this.handleRequest(session, peer, body);
  }

  /** A session peer cut off at the transport (a limit passed, or its replies left unread): counted and audited. */
  private onPeerCutOff(session: Session, reason: string): void {
    this.droppedFrames++;
    void this.audit.appendEvent({
      kind: "dropped",
      outcome: "rejected",
      group: session.identity.group,
      session: session.id,
      stage: 3,
      code: "VALIDATION_FAILED",
      detail: { reason: `peer cut off: it ${reason}` },
    });
  }

  /** The final reply: kept in the reply cache, sent to the caller and to any connection that joined it. */
  private answer(session: Session, peer: Uint8Array, correlation: string | null, frame: ReplyFrame): void {
    if (correlation)
      for (const waiter of session.replies.finish(correlation, frame)) this.reply(session, waiter, frame);
    this.reply(session, peer, frame);
  }

  /** A refusal before the pipeline runs (reply cache conflict, in-flight cap, shutdown), audited. */
  private auditRejection(
    session: Session,
    topic: string | null,
    correlation: string | null,
    error: ErrorObject,
    stage: number,
  ): Promise<unknown> {
    return this.rejections
      .record({
        kind: "rejected",
        outcome: "rejected",
        group: session.identity.group,
        session: session.id,
        topic,
        correlation,
        stage,
        code: error.code,
        detail: { reason: error.message },
      })
      .catch((error: unknown) => this.audit.reportUnwritten(error));
  }

  private reply(session: Session, peer: Uint8Array, frame: ReplyFrame): boolean {
    const outcome = session.router?.send(peer, ["", JSON.stringify(frame)]);
    return outcome === "sent" || outcome === "again";
  }

  private async handleRequest(session: Session, peer: Uint8Array, body: Uint8Array): Promise<void> {
    const receivedAt = Date.now();
    const limits = this.options.limits(session.identity.group);
    const read = readFrame(body, limits);
    const peek = read.ok ? peekCorrelation(read.value) : null;
    if (peek) {
      const cached = session.replies.lookup(peek.correlation, peek.hash);
      if (cached.kind === "done") return void this.reply(session, peer, cached.reply);
      if (cached.kind === "running") return void session.replies.join(peek.correlation, peer);
      if (cached.kind === "conflict") {
        const error = errorObject("VALIDATION_FAILED", "correlation was already used for a different request", {
          field: "/correlation",
        });
        await this.auditRejection(session, peek.topic, peek.correlation, error, 3);
        return void this.reply(session, peer, { kind: "error", correlation: peek.correlation, error });
      }
      session.replies.begin(peek.correlation, peek.hash, peer);
    }
    const correlation = peek?.correlation ?? null;
    if (this.stopping || session.inflight.size >= limits.maxInflightPerSession) {
      const error = this.stopping
        ? errorObject("PLUGIN_UNAVAILABLE", "the core is shutting down")
        : errorObject("RATE_LIMITED", "too many calls in flight for this session", { retry_after: 1 });
      await this.auditRejection(session, peek?.topic ?? null, correlation, error, error.stage ?? 6);
      return this.answer(session, peer, correlation, { kind: "error", correlation: correlation ?? "", error });
    }
    const controller = new AbortController();
    const inflightKey = correlation ?? crypto.randomUUID();
    session.inflight.set(inflightKey, controller);
    const onEnd = () => controller.abort();
    session.ended.signal.addEventListener("abort", onEnd, { once: true });
    let heartbeat: ReturnType<typeof setInterval> | null = null;
    let state: { state: "running" | "pending_confirmation"; waitMs: number; id?: string } = {
      state: "running",
      waitMs: limits.handlerTimeoutMs,
    };
    // When the caller gives up: from the claim in its correlation, extended by every heartbeat it is sent
    // (ipc waits wait_ms plus a margin after each one).
    let deadline = callerDeadline(correlation, receivedAt, limits.ipcTimeoutMs);
    const heartbeatSent = (waitMs: number) => {
      deadline = Math.max(deadline, Date.now() + waitMs + HEARTBEAT_MARGIN_MS);
    };
    if (correlation) {
      heartbeat = setInterval(() => {
        const alive = this.reply(session, peer, {
          kind: "heartbeat",
          correlation,
          state: state.state,
          wait_ms: state.waitMs,
          ...(state.id ? { confirmation: state.id } : {}),
        });
        if (!alive) controller.abort();
        else heartbeatSent(state.waitMs);
      }, HEARTBEAT_MS);
    }
    const identity = session.identity;
    this.trace(identity, correlation, peek?.topic ?? null, "wire received", { bytes: body.length });
    try {
      const outcome = await runCall(
        this.pipeline,
        this.audit,
        {
          identity,
          raw: body,
          frame: read,
          limits,
          signal: controller.signal,
          deadline: () => deadline,
          // Asked when a person approves: a caller that disconnected or gave up cannot be approved.
          callerAlive: () => {
            if (session.ended.signal.aborted || controller.signal.aborted || Date.now() > deadline) return false;
            if (correlation === null) return true;
            const sent = this.reply(session, peer, {
              kind: "heartbeat",
              correlation,
              state: state.state,
              wait_ms: state.waitMs,
              ...(state.id ? { confirmation: state.id } : {}),
            });
            if (sent) heartbeatSent(state.waitMs);
            return sent;
          },
          onPendingConfirmation: (id, waitMs) => {
            state = { state: "pending_confirmation", waitMs, id };
            if (
              correlation &&
              this.reply(session, peer, {
                kind: "heartbeat",
                correlation,
                state: "pending_confirmation",
                wait_ms: waitMs,
                confirmation: id,
              })
            )
              heartbeatSent(waitMs);
          },
          trace: (hop, detail) => this.trace(identity, correlation, peek?.topic ?? null, hop, detail),
        },
        this.rejections,
      );
      const frame: ReplyFrame = outcome.error
        ? { kind: "error", correlation: outcome.correlation ?? correlation ?? "", error: outcome.error }
        : { kind: "result", correlation: outcome.correlation ?? "", result: outcome.result };
      this.answer(session, peer, correlation, frame);
      publishCallOutcome((...a) => this.publish(...a), identity, peek?.topic ?? null, outcome);
      this.trace(identity, correlation, peek?.topic ?? null, "reply sent", { kind: frame.kind });
    } finally {
      if (heartbeat) clearInterval(heartbeat);
      session.inflight.delete(inflightKey);
      session.ended.signal.removeEventListener("abort", onEnd);
    }
  }

  /** `carapace call`: the operator runs a tool through the same six stages (source `cli`). */
  async callAsOperator(
    tool: string,
    args: unknown,
    group: string,
    caller: { signal?: AbortSignal; alive?: () => boolean } = {},
  ): Promise<ReplyFrame> {
    const correlation = crypto.randomUUID();
    const body = new TextEncoder().encode(
      JSON.stringify({
        topic: tool.startsWith("tool.invoke.") ? tool : `tool.invoke.${tool}`,
        correlation,
        arguments: args,
      }),
    );
    const identity = mintIdentity(`cli-${group}`, group, "cli");
    const outcome = await runCall(this.pipeline, this.audit, {
      identity,
      raw: body,
      limits: this.options.limits(group),
      signal: caller.signal ?? new AbortController().signal,
      ...(caller.alive ? { callerAlive: caller.alive } : {}),
      onPendingConfirmation: () => {},
      trace: (hop, detail) => this.trace(identity, correlation, tool, hop, detail),
    });
    publishCallOutcome((...a) => this.publish(...a), identity, toInvokeTopic(tool), { ...outcome, correlation });
    return outcome.error
      ? { kind: "error", correlation, error: outcome.error }
      : { kind: "result", correlation, result: outcome.result };
  }

  /**
   * Signs the durable heads of the logs (never on a call's path: a timer, shutdown, or the operator).
   * Null when nothing changed since the last checkpoint or checkpoints are off.
   */
  async checkpoint(): Promise<Checkpoint | null> {
    if (!this.checkpoints) return null;
    try {
      const written = await this.checkpoints.write(this.audit.durableHeads());
      if (written) this.signedCheckpoints = written.n;
      return written;
    } catch (error) {
      logLine(
        `[AUDIT] Error: could not write a signed checkpoint (${sanitizeText((error as Error).message)}). Fix: check free disk space in ${this.options.home}/data.`,
      );
      return null;
    }
  }

  checkpointCount(): number {
    return this.signedCheckpoints;
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.checkpointTimer) clearInterval(this.checkpointTimer);
    this.confirmations.cancelAll();
    // Give in-flight calls a moment to answer (they get PLUGIN_UNAVAILABLE if cancelled).
    const deadline = Date.now() + 2_000;
    while (this.sessions.list().some((s) => s.inflight.size > 0) && Date.now() < deadline) await Bun.sleep(10);
    // Cancel what is still running while the sockets are open, so each caller gets PLUGIN_UNAVAILABLE
    // and each call its audit record, instead of a silent socket close.
    for (const s of this.sessions.list()) for (const c of s.inflight.values()) c.abort();
    const drain = Date.now() + 500;
    while (this.sessions.list().some((s) => s.inflight.size > 0) && Date.now() < drain) await Bun.sleep(5);
    for (const s of this.sessions.list()) this.closeSession(s.id);
    await this.plugins.shutdown();
    await this.rejections.flush();
    await this.audit.appendEvent({ kind: "session", outcome: "info", detail: { event: "core stopped" } });
    await this.audit.close();
    await this.checkpoint();
    this.stopSecretWatch();
    this.events?.close();
    this.events = null;
  }
}

/** Correlation and topic for the reply cache, read without trusting anything else (full checks follow). */
function peekCorrelation(value: unknown): { correlation: string; topic: string; hash: string } | null {
  if (typeof value !== "object" || value === null) return null;
  const v = value as Record<string, unknown>;
  if (typeof v.correlation !== "string" || v.correlation.length > 64) return null;
  const topic = typeof v.topic === "string" ? v.topic : "";
  return { correlation: v.correlation, topic, hash: requestHash(topic, v.arguments) };
}

export function writePidFile(home: string): string {
  const path = join(home, "run/core.pid");
  writeFileSync(path, `${process.pid}\n`, { mode: 0o600 });
  return path;
}

export function readPidFile(home: string): number | null {
  const path = join(home, "run/core.pid");
  if (!existsSync(path)) return null;
  const pid = Number(readFileSync(path, "utf8").trim());
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

export function removePidFile(home: string): void {
  try {
    unlinkSync(join(home, "run/core.pid"));
  } catch {
    // already gone
  }
}

/** Removes the pid file only if it still names `pid`: a core never deletes what another one wrote. */
export function removePidFileOf(home: string, pid: number): void {
  if (readPidFile(home) === pid) removePidFile(home);
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
