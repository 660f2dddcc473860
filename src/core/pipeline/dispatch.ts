import { InvokeFailure, type ToolEntry } from "../../plugins/catalog.ts";
import { ToolError } from "../../plugins/sdk/tool-error.ts";
import type { Envelope, RequestPayload } from "../../protocol/envelope.ts";
import { type ErrorObject, errorObject, PIPELINE_ONLY_CODES } from "../../protocol/errors.ts";
import { sanitizeText } from "../response/sanitize.ts";
import { type CallContext, Rejection, type StageDef } from "./context.ts";

const MAX_HANDLER_MESSAGE = 500;

/**
 * Turns whatever a handler threw into an error object. Only a ToolError's own message passes; a
 * ToolError that borrows a pipeline code is normalized to HANDLER_ERROR; anything else is generic.
 */
export function handlerFailure(thrown: unknown): { error: ErrorObject; forgedCode?: string } {
  if (thrown instanceof ToolError) {
    // Scrubbed before it is cut: a cut first could leave a secret's prefix no pattern recognizes.
    const message = sanitizeText(String(thrown.message)).slice(0, MAX_HANDLER_MESSAGE);
    const base = errorObject("HANDLER_ERROR", message, { retriable: thrown.retriable === true });
    const forged = PIPELINE_ONLY_CODES.has(thrown.code) ? thrown.code : undefined;
    if (forged) return { error: base, forgedCode: forged };
    if (/^[A-Z][A-Z0-9_]{0,63}$/.test(thrown.code) && thrown.code !== "HANDLER_ERROR") base.handler_code = thrown.code;
    return { error: base };
  }
  return { error: errorObject("PLUGIN_ERROR", "the tool failed") };
}

/** Stage 6: run the handler with a time limit; its reply must fit the response size limit. */
export const dispatch: StageDef = {
  name: "dispatch",
  stage: 6,
  run(ctx: CallContext) {
    const tool = ctx.tool as ToolEntry;
    const envelope = ctx.envelope;
    if (!envelope) throw new Rejection(errorObject("PLUGIN_UNAVAILABLE", "no envelope"));
    if (!tool.available() || ctx.cancel.aborted) {
      throw new Rejection(errorObject("PLUGIN_UNAVAILABLE", "the tool's plugin is not available right now"));
    }
    if (ctx.deadline !== undefined && Date.now() > ctx.deadline()) {
      // The caller stopped waiting; running it now would be a second execution once the agent retries.
      throw new Rejection(
        errorObject("PLUGIN_TIMEOUT", "the caller's deadline passed before the tool ran; it did not run"),
      );
    }
    let intent: Promise<unknown> | undefined;
    try {
      intent = ctx.recordIntent?.();
    } catch {
      throw unrecorded();
    }
    if (intent === undefined) return runTool(ctx, tool, envelope);
    return intent.then(
      () => runTool(ctx, tool, envelope),
      () => {
        throw unrecorded();
      },
    );
  },
};

function unrecorded(): Rejection {
  return new Rejection(errorObject("PLUGIN_UNAVAILABLE", "the audit log cannot be written; the call did not run"));
}

type ToolOutcome = { value: unknown } | { thrown: unknown };

/**
 * Starts the tool once its intent is recorded. A tool that answers before it returns (every in-process
 * tool) is taken as it is: no timer, no abort listener, no promise. One that returns a promise races its
 * time limit and the session's end.
 */
function runTool(ctx: CallContext, tool: ToolEntry, envelope: Envelope<RequestPayload>): undefined | Promise<void> {
  ctx.ran = true;
  const started = Date.now();
  const answered = invokeNow(() =>
    tool.invoke(copyArguments(envelope.payload.arguments) as Record<string, unknown>, {
      group: envelope.group,
      sessionId: envelope.session,
      correlation: envelope.correlation ?? "",
      get timestamp() {
        return envelope.timestamp;
      },
      source: envelope.source,
    }),
  );
  if (!("pending" in answered)) {
    settle(ctx, answered);
    return undefined;
  }
  const run = Promise.resolve(answered.pending);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const signal = ctx.cancel.signal;
  // One promise settled by whichever comes first: the tool, its time limit, or the session ending (a
  // session that ends, or a core that stops, must not wait for a slow handler: the caller gets
  // PLUGIN_UNAVAILABLE now, while the audit log and its socket are still open).
  const raced = new Promise<ToolOutcome | "timeout" | "aborted">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), ctx.limits.handlerTimeoutMs);
    onAbort = () => resolve("aborted");
    signal.addEventListener("abort", onAbort, { once: true });
    run.then(
      (value) => resolve({ value }),
      (thrown: unknown) => resolve({ thrown }),
    );
  });
  return raced.then((outcome) => {
    clearTimeout(timer);
    signal.removeEventListener("abort", onAbort as () => void);
    if (outcome === "aborted" || outcome === "timeout") {
      // The tool keeps running: its side effect may still happen, so this answer is never retriable.
      const late = ctx.onLateOutcome;
      if (late)
        run.then(
          () => late({ ok: true, afterMs: Date.now() - started }),
          () => late({ ok: false, afterMs: Date.now() - started }),
        );
      throw new Rejection(
        outcome === "aborted"
          ? errorObject("PLUGIN_UNAVAILABLE", "the call was cancelled because its session ended; it may have run", {
              retriable: false,
            })
          : errorObject(
              "PLUGIN_TIMEOUT",
              `the tool did not answer within ${ctx.limits.handlerTimeoutMs} ms; it may still complete`,
              { retriable: false },
            ),
      );
    }
    settle(ctx, outcome);
  });
}

/** The tool's answer as the call's result, or what it threw as the call's error. */
function settle(ctx: CallContext, outcome: ToolOutcome): void {
  try {
    if ("thrown" in outcome) throw outcome.thrown;
    // Serialized once: the size checked here, the sanitizer and the bytes sent all see this one
    // snapshot (a getter or toJSON that answers differently on a second read changes nothing).
    const text = JSON.stringify(outcome.value ?? null) ?? "null";
    if (Buffer.byteLength(text) > ctx.limits.maxResponseBytes) {
      throw new Rejection(
        errorObject("HANDLER_ERROR", `the tool's reply exceeds ${ctx.limits.maxResponseBytes} bytes`),
      );
    }
    ctx.result = JSON.parse(text);
  } catch (e) {
    if (e instanceof Rejection) throw e;
    if (e instanceof InvokeFailure) throw new Rejection(errorObject(e.code, e.message));
    const failure = handlerFailure(e);
    if (failure.forgedCode) ctx.forgedCode = failure.forgedCode;
    throw new Rejection(failure.error);
  }
}

/**
 * The tool's own copy of its arguments: nothing it does to them reaches the envelope. They are JSON
 * (parsed from the frame, or from the operator's request), so plain objects, arrays and primitives are
 * copied here, a small fraction of structuredClone's cost; anything else (or past 64 levels) goes to
 * structuredClone, which copies or refuses it as before.
 */
export function copyArguments(value: unknown, depth = 0): unknown {
  if (typeof value !== "object" || value === null)
    return typeof value === "function" || typeof value === "symbol" ? structuredClone(value) : value;
  if (depth > 64) return structuredClone(value);
  const proto = Object.getPrototypeOf(value);
  if (Array.isArray(value) && proto === Array.prototype) {
    const out: unknown[] = new Array(value.length);
    for (let i = 0; i < value.length; i++) out[i] = copyArguments(value[i], depth + 1);
    return out;
  }
  if (proto !== Object.prototype && proto !== null) return structuredClone(value);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const v = copyArguments((value as Record<string, unknown>)[key], depth + 1);
    // An own "__proto__" (JSON.parse makes one) stays a plain property: assigning it would set the prototype.
    if (key === "__proto__")
      Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
    else out[key] = v;
  }
  return out;
}

/** The tool's answer if it gave one before returning, else the promise of it. */
function invokeNow(
  invoke: () => unknown,
): { value: unknown } | { thrown: unknown } | { pending: PromiseLike<unknown> } {
  let value: unknown;
  try {
    value = invoke();
  } catch (thrown) {
    return { thrown };
  }
  const thenable =
    (typeof value === "object" || typeof value === "function") &&
    value !== null &&
    typeof (value as { then?: unknown }).then === "function";
  return thenable ? { pending: value as PromiseLike<unknown> } : { value };
}
