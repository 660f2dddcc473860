import {
  buildRequestEnvelope,
  buildResponseEnvelope,
  type Envelope,
  type RequestPayload,
  type ResponsePayload,
  type SessionIdentity,
} from "../../src/protocol/envelope.ts";
import type { ErrorObject } from "../../src/protocol/errors.ts";
import { errorObject } from "../../src/protocol/errors.ts";
import type { ReplyFrame } from "../../src/protocol/reply.ts";
import { identity as makeIdentity } from "./factories.ts";

/** A request envelope built the way the pipeline builds it: identity from the session, never the wire. */
export function requestEnvelope(
  options: {
    identity?: SessionIdentity;
    topic?: string;
    correlation?: string;
    arguments?: Readonly<Record<string, unknown>>;
  } = {},
): Envelope<RequestPayload> {
  return buildRequestEnvelope(
    options.identity ?? makeIdentity(),
    options.topic ?? "tool.invoke.t.echo",
    options.correlation ?? crypto.randomUUID(),
    options.arguments ?? { message: "hi" },
  );
}

/** The response to `request` (a fresh request when omitted): a result, or an error when `error` is given. */
export function responseEnvelope(
  options: { request?: Envelope<RequestPayload>; result?: unknown; error?: ErrorObject | null } = {},
): Envelope<ResponsePayload> {
  const error = options.error ?? null;
  return buildResponseEnvelope(
    options.request ?? requestEnvelope(),
    error ? null : (options.result ?? { ok: true }),
    error,
  );
}

/** Reply frames as the core sends them back to `ipc`. */
export const replyFrame = {
  result(correlation: string, result: unknown = { ok: true }): ReplyFrame {
    return { kind: "result", correlation, result };
  },
  error(correlation: string, error: ErrorObject = errorObject("HANDLER_ERROR", "the tool failed")): ReplyFrame {
    return { kind: "error", correlation, error };
  },
  heartbeat(
    correlation: string,
    waitMs = 30_000,
    state: "pending_confirmation" | "running" = "pending_confirmation",
  ): ReplyFrame {
    return { kind: "heartbeat", correlation, state, wait_ms: waitMs };
  },
};
