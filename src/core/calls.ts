import { mintIdentity } from "../protocol/envelope.ts";
import { type ErrorObject, errorObject } from "../protocol/errors.ts";
import type { Limits } from "../protocol/limits.ts";
import type { ReplyFrame } from "../protocol/reply.ts";
import { toInvokeTopic } from "../protocol/topics.ts";
import { type CallOutcome, replyFrame, runCall } from "./call-runner.ts";
import type { CallTracer } from "./call-trace.ts";
import { CallerKeepalive } from "./caller-keepalive.ts";
import type { Publish } from "./events.ts";
import { publishCallOutcome } from "./operator-events.ts";
import type { Pipeline } from "./pipeline/compose.ts";
import { CallAbort, cancelOn } from "./pipeline/context.ts";
import { readFrame, readValue } from "./pipeline/frame-limits.ts";
import { type RequestHash, requestHash } from "./reply-cache.ts";
import type { AuditLog } from "./response/audit-log.ts";
import type { AuditEntry } from "./response/audit-record.ts";
import type { RejectionAggregator } from "./response/rejection-aggregator.ts";
import type { Session } from "./sessions.ts";

export interface CallsDeps {
  readonly pipeline: Pipeline;
  readonly audit: AuditLog;
  readonly rejections: RejectionAggregator;
  readonly limits: (group?: string) => Limits;
  readonly publish: Publish;
  readonly trace: CallTracer;
  /** True once the core is stopping: new calls are refused. */
  readonly stopping: () => boolean;
  /** Told when a session's call has been answered (memory-return.ts collects after a burst). */
  readonly callEnded?: () => void;
}

/**
 * A call from its frame to its reply: the frame read once, the reply cache, the in-flight cap, the
 * caller kept informed while it waits, the six stages and the response path (runCall), then one reply
 * to the caller and to any connection that joined it. The operator's calls take the same path from
 * their parsed request.
 */
export class Calls {
  /** Frames dropped before any stage could read them, and peers cut off at the transport. */
  droppedFrames = 0;

  constructor(private readonly deps: CallsDeps) {}

  /** A frame on a session socket: [empty, json] from a DEALER. Anything else is dropped and counted. */
  onFrame(session: Session, peer: Uint8Array, frames: Uint8Array[], overflow: boolean): void {
    const [delimiter, body, ...extra] = frames;
    if (overflow || delimiter === undefined || delimiter.length !== 0 || body === undefined || extra.length > 0) {
      this.droppedFrames++;
      void this.deps.rejections
        .record(droppedEntry(session, "frame without a usable delimiter"))
        .catch((error: unknown) => this.deps.audit.reportUnwritten(error));
      return;
    }
    void this.fromSession(session, peer, body);
  }

  /** A session peer cut off at the transport (a limit passed, or its replies left unread): counted and audited. */
  onPeerCutOff(session: Session, reason: string): void {
    this.droppedFrames++;
    void this.deps.audit.appendEvent(droppedEntry(session, `peer cut off: it ${reason}`));
  }

  /** `carapace call`: the operator runs a tool through the same six stages (source `cli`). */
  async fromOperator(
    tool: string,
    args: unknown,
    group: string,
    caller: { signal?: AbortSignal; alive?: () => boolean } = {},
  ): Promise<ReplyFrame> {
    const correlation = crypto.randomUUID();
    const limits = this.deps.limits(group);
    const request = { topic: toInvokeTopic(tool), correlation, arguments: args };
    const identity = mintIdentity(`cli-${group}`, group, "cli");
    const outcome = await runCall(this.deps.pipeline, this.deps.audit, {
      identity,
      frame: readValue(request, limits),
      limits,
      cancel: caller.signal ? cancelOn(caller.signal) : new CallAbort(),
      ...(caller.alive ? { callerAlive: caller.alive } : {}),
      onPendingConfirmation: () => {},
      trace: this.deps.trace(identity, correlation, tool),
    });
    publishCallOutcome(this.deps.publish, identity, request.topic, { ...outcome, correlation });
    return replyFrame(outcome, correlation);
  }

  private async fromSession(session: Session, peer: Uint8Array, body: Uint8Array): Promise<void> {
    const receivedAt = Date.now();
    const limits = this.deps.limits(session.identity.group);
    const read = readFrame(body, limits);
    const peek = read.ok ? peekCorrelation(read.value) : null;
    if (peek) {
      const cached = session.replies.lookup(peek.correlation, peek.hash);
      if (cached.kind === "done") return void send(session, peer, cached.reply);
      if (cached.kind === "running") return void session.replies.join(peek.correlation, peer);
      if (cached.kind === "conflict") {
        const error = errorObject("VALIDATION_FAILED", "correlation was already used for a different request", {
          field: "/correlation",
        });
        await this.auditRefusal(session, peek.topic, peek.correlation, error, 3);
        return void send(session, peer, replyFrame({ correlation: peek.correlation, error }, null));
      }
      session.replies.begin(peek.correlation, peek.hash, peer);
    }
    const correlation = peek?.correlation ?? null;
    const topic = peek?.topic ?? null;
    if (this.deps.stopping() || session.inflight.size >= limits.maxInflightPerSession) {
      const error = this.deps.stopping()
        ? errorObject("PLUGIN_UNAVAILABLE", "the core is shutting down")
        : errorObject("RATE_LIMITED", "too many calls in flight for this session", { retry_after: 1 });
      await this.auditRefusal(session, topic, correlation, error, error.stage ?? 6);
      return answer(session, peer, correlation, replyFrame({ correlation, error }, null));
    }
    const cancel = new CallAbort();
    // Ending the session aborts every call in `inflight` (SessionRegistry.close).
    session.inflight.add(cancel);
    const keepalive = new CallerKeepalive(
      correlation,
      receivedAt,
      limits,
      (frame) => send(session, peer, frame),
      () => cancel.abort(),
    );
    const identity = session.identity;
    const trace = this.deps.trace(identity, correlation, topic);
    trace("wire received", { bytes: body.length });
    try {
      const outcome: CallOutcome = await runCall(
        this.deps.pipeline,
        this.deps.audit,
        {
          identity,
          raw: body,
          frame: read,
          limits,
          cancel,
          deadline: () => keepalive.deadlineMs(),
          // Asked when a person approves: a caller that disconnected or gave up cannot be approved.
          callerAlive: () => {
            if (session.ended.signal.aborted || cancel.aborted || Date.now() > keepalive.deadlineMs()) return false;
            return keepalive.beat();
          },
          onPendingConfirmation: (id, waitMs) => keepalive.pendingConfirmation(id, waitMs),
          trace,
        },
        this.deps.rejections,
      );
      const frame = replyFrame(outcome, correlation);
      answer(session, peer, correlation, frame);
      publishCallOutcome(this.deps.publish, identity, topic, outcome);
      trace("reply sent", { kind: frame.kind });
    } finally {
      keepalive.stop();
      session.inflight.delete(cancel);
      this.deps.callEnded?.();
    }
  }

  /** A refusal before the pipeline runs (reply cache conflict, in-flight cap, shutdown), audited. */
  private auditRefusal(
    session: Session,
    topic: string | null,
    correlation: string | null,
    error: ErrorObject,
    stage: number,
  ): Promise<unknown> {
    return this.deps.rejections
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
      .catch((error: unknown) => this.deps.audit.reportUnwritten(error));
  }
}

/** The audit record of a frame or peer dropped at the transport, before any stage could read it. */
function droppedEntry(session: Session, reason: string): AuditEntry {
  return {
    kind: "dropped",
    outcome: "rejected",
    group: session.identity.group,
    session: session.id,
    stage: 3,
    code: "VALIDATION_FAILED",
    detail: { reason },
  };
}

/** Sends one frame (or its JSON text) to a peer of the session's socket; false when that peer is gone. */
function send(session: Session, peer: Uint8Array, frame: ReplyFrame | string): boolean {
  const text = typeof frame === "string" ? frame : JSON.stringify(frame);
  const outcome = session.router?.send(peer, ["", text]);
  return outcome === "sent" || outcome === "again";
}

/** The final reply: kept in the reply cache, serialized once, sent to the caller and to any connection that joined it. */
function answer(session: Session, peer: Uint8Array, correlation: string | null, frame: ReplyFrame): void {
  const text = JSON.stringify(frame);
  if (correlation) for (const waiter of session.replies.finish(correlation, frame)) send(session, waiter, text);
  send(session, peer, text);
}

/** Correlation and topic for the reply cache, read without trusting anything else (full checks follow). */
function peekCorrelation(value: unknown): { correlation: string; topic: string; hash: RequestHash } | null {
  if (typeof value !== "object" || value === null) return null;
  const v = value as Record<string, unknown>;
  if (typeof v.correlation !== "string" || v.correlation.length > 64) return null;
  const topic = typeof v.topic === "string" ? v.topic : "";
  return { correlation: v.correlation, topic, hash: requestHash(topic, v.arguments) };
}
