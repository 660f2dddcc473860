import type { SessionIdentity } from "../protocol/envelope.ts";
import type { ErrorObject } from "../protocol/errors.ts";
import { errorObject } from "../protocol/errors.ts";
import type { Limits } from "../protocol/limits.ts";
import type { CallContext } from "./pipeline/context.ts";
import type { FrameRead } from "./pipeline/frame-limits.ts";
import type { AuditLog } from "./response/audit-log.ts";
import { sanitize } from "./response/sanitize.ts";

export interface CallOutcome {
  correlation: string | null;
  result?: unknown;
  error?: ErrorObject;
}

export interface CallRequest {
  identity: SessionIdentity;
  raw: Uint8Array;
  frame?: FrameRead;
  limits: Limits;
  signal: AbortSignal;
  onPendingConfirmation: (id: string, waitMs: number) => void;
  trace: (hop: string, detail?: Record<string, unknown>) => void;
}

/**
 * Runs one call through the composed pipeline, then the response path: sanitize → audit → (caller
 * forwards). An audit write that fails turns the answer into a refusal (fail closed).
 */
export async function runCall(
  pipeline: (ctx: CallContext) => Promise<void>,
  audit: AuditLog,
  req: CallRequest,
): Promise<CallOutcome> {
  const ctx: CallContext = { ...req };
  try {
    await pipeline(ctx);
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
    records.push(
      audit.append({
        ...base,
        kind: inPipeline ? "rejected" : "error",
        outcome: inPipeline ? "rejected" : "error",
        stage: error.stage ?? 6,
        code: error.code,
        detail: { reason: error.message, ...(error.field !== undefined ? { field: error.field } : {}) },
      }),
    );
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
  } catch (e) {
    reportAuditFailure((e as Error).message);
    return {
      correlation,
      error: errorObject("PLUGIN_UNAVAILABLE", "the audit log cannot be written; the call was refused"),
    };
  }
  return outcome;
}

let lastAuditFailure = "";
/** The operator needs to see why calls are refused, once per distinct failure rather than per call. */
function reportAuditFailure(message: string): void {
  if (message === lastAuditFailure) return;
  lastAuditFailure = message;
  process.stderr.write(`${message}\n`);
}
