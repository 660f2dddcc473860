import type { SessionIdentity } from "../protocol/envelope.ts";
import type { ErrorObject } from "../protocol/errors.ts";
import { errorObject } from "../protocol/errors.ts";
import type { Limits } from "../protocol/limits.ts";
import type { ReplyFrame } from "../protocol/reply.ts";
import type { Pipeline } from "./pipeline/compose.ts";
import type { CallCancel, CallContext, FrameRead } from "./pipeline/context.ts";
import type { AuditLog } from "./response/audit-log.ts";
import type { AuditEntry } from "./response/audit-record.ts";
import type { RejectionAggregator } from "./response/rejection-aggregator.ts";
import { sanitize } from "./response/sanitize.ts";

const NO_BYTES = new Uint8Array(0);

export interface CallOutcome {
  correlation: string | null;
  result?: unknown;
  error?: ErrorObject;
}

export interface CallRequest {
  identity: SessionIdentity;
  /** The request's bytes, when it came as a frame; `frame` is their reading (readFrame or readValue). */
  raw?: Uint8Array;
  frame: FrameRead;
  limits: Limits;
  cancel: CallCancel;
  onPendingConfirmation: (id: string, waitMs: number) => void;
  callerAlive?: () => boolean;
  trace: (hop: string, detail?: Record<string, unknown>) => void;
  /** Epoch ms after which the caller no longer waits; absent for the operator's own calls. */
  deadline?: () => number;
}

/**
 * Runs one call through the composed pipeline, then the response path: sanitize → audit → (caller
 * forwards). Stage 6 starts the tool only once a record of intent is written; its outcome follows.
 * An audit write that fails turns the answer into a refusal (fail closed), and a refusal of a call
 * whose tool already ran is never retriable: retrying it would repeat the side effect.
 */
export async function runCall(
  pipeline: Pipeline,
  audit: AuditLog,
  req: CallRequest,
  rejections?: RejectionAggregator,
): Promise<CallOutcome> {
  const intentBase = () => ({
    group: req.identity.group,
    session: req.identity.sessionId,
    topic: ctx.wire?.topic ?? null,
    correlation: ctx.wire?.correlation ?? null,
  });
  const ctx: CallContext = {
    ...req,
    raw: req.raw ?? NO_BYTES,
    recordIntent: () => audit.append({ ...intentBase(), kind: "intent", outcome: "info", stage: 6 }),
    onLateOutcome: ({ ok, afterMs }) =>
      void audit.appendEvent({
        ...intentBase(),
        kind: "late",
        outcome: ok ? "ok" : "error",
        stage: 6,
        detail: { finished_after_ms: afterMs, note: "the tool finished after its caller was answered" },
      }),
  };
  try {
    const pending = pipeline(ctx);
    if (pending) await pending;
  } catch {
    ctx.error = errorObject("PLUGIN_ERROR", "internal error");
  }
  const correlation = ctx.wire?.correlation ?? null;
  const base = {
    group: req.identity.group,
    session: req.identity.sessionId,
    topic: ctx.wire?.topic ?? null,
    correlation,
  };
  const records: Promise<unknown>[] = [];
  let outcome: CallOutcome;
  if (ctx.error) {
    const clean = sanitize(ctx.error);
    const error = clean.value as ErrorObject;
    const inPipeline = error.stage !== undefined && error.stage < 6;
    const record: AuditEntry = {
      ...base,
      kind: inPipeline ? "rejected" : "error",
      outcome: inPipeline ? "rejected" : "error",
      stage: error.stage ?? 6,
      code: error.code,
      detail: { reason: error.message, ...(error.field !== undefined ? { field: error.field } : {}) },
    };
    // A rejection before stage 6 ran nothing: repeats of it are counted, not written one by one.
    records.push(inPipeline && rejections ? rejections.record(record) : audit.append(record));
    if (ctx.forgedCode) {
      records.push(
        audit.append({
          ...base,
          kind: "normalized",
          outcome: "error",
          stage: 6,
          code: "HANDLER_ERROR",
          detail: { forged_code: ctx.forgedCode, normalized_to: "HANDLER_ERROR" },
        }),
      );
    }
    if (clean.paths.length > 0)
      records.push(audit.append({ ...base, kind: "sanitized", outcome: "info", detail: { paths: clean.paths } }));
    outcome = { correlation, error };
  } else {
    const clean = sanitize(ctx.result);
    records.push(audit.append({ ...base, kind: "routed", outcome: "ok", stage: 6 }));
    if (clean.paths.length > 0)
      records.push(audit.append({ ...base, kind: "sanitized", outcome: "info", detail: { paths: clean.paths } }));
    outcome = { correlation, result: clean.value };
  }
  try {
    await Promise.all(records);
  } catch {
    // The audit writer tells the operator once per failure and again when it recovers.
    return {
      correlation,
      error: ctx.ran
        ? errorObject("PLUGIN_ERROR", "the tool ran but its outcome could not be recorded; do not retry it")
        : errorObject("PLUGIN_UNAVAILABLE", "the audit log cannot be written; the call was refused"),
    };
  }
  return outcome;
}

/**
 * The one reply for an outcome. `correlation` is the caller's own, for a call refused before its
 * correlation was read as valid (the caller still matches the refusal to its request).
 */
export function replyFrame(outcome: CallOutcome, correlation: string | null): ReplyFrame {
  const replyTo = outcome.correlation ?? correlation ?? "";
  return outcome.error
    ? { kind: "error", correlation: replyTo, error: outcome.error }
    : { kind: "result", correlation: replyTo, result: outcome.result };
}
