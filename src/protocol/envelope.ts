import type { ErrorObject } from "./errors.ts";

/**
 * Identity of a session as the core knows it. Built only by the session registry; the brand makes it
 * impossible to assemble one from wire data (or any object literal) elsewhere.
 */
declare const identityBrand: unique symbol;
export interface SessionIdentity {
  readonly [identityBrand]: true;
  readonly sessionId: string;
  readonly group: string;
  readonly source: string;
}

/** Only the session registry (and operator sources like the CLI) mint identities. */
export function mintIdentity(sessionId: string, group: string, source: string): SessionIdentity {
  return Object.freeze({ sessionId, group, source }) as SessionIdentity;
}

export type EnvelopeType = "event" | "request" | "response";

export interface Envelope<P = unknown> {
  readonly id: string;
  readonly version: 1;
  readonly type: EnvelopeType;
  readonly topic: string;
  readonly source: string;
  readonly correlation: string | null;
  readonly timestamp: string;
  readonly group: string;
  readonly session: string;
  readonly payload: P;
}

export interface RequestPayload {
  readonly arguments: Readonly<Record<string, unknown>>;
}
export interface ResponsePayload {
  readonly result: unknown;
  readonly error: ErrorObject | null;
}

/**
 * Identity fields are taken from `identity` only; the wire supplies topic, correlation and arguments.
 * The id and the timestamp's text are made when first read (the time is taken now): most calls are
 * answered without either being read, and making both cost more than the rest of stage 1.
 */
export function buildRequestEnvelope(
  identity: SessionIdentity,
  topic: string,
  correlation: string,
  args: Readonly<Record<string, unknown>>,
): Envelope<RequestPayload> {
  const at = Date.now();
  let id: string | undefined;
  let timestamp: string | undefined;
  return {
    get id() {
      id ??= crypto.randomUUID();
      return id;
    },
    version: 1,
    type: "request",
    topic,
    source: identity.source,
    correlation,
    get timestamp() {
      timestamp ??= new Date(at).toISOString();
      return timestamp;
    },
    group: identity.group,
    session: identity.sessionId,
    payload: { arguments: args },
  };
}

export function buildResponseEnvelope(
  request: Envelope<RequestPayload>,
  result: unknown,
  error: ErrorObject | null,
): Envelope<ResponsePayload> {
  return {
    id: crypto.randomUUID(),
    version: 1,
    type: "response",
    topic: request.topic,
    source: "core",
    correlation: request.correlation,
    timestamp: new Date().toISOString(),
    group: request.group,
    session: request.session,
    payload: { result, error },
  };
}

/** `correlation`: the request an event was published in (a plugin's publishEvent inside a call), if any. */
export function buildEventEnvelope<P>(
  identity: SessionIdentity,
  topic: string,
  payload: P,
  correlation: string | null = null,
): Envelope<P> {
  return {
    id: crypto.randomUUID(),
    version: 1,
    type: "event",
    topic,
    source: identity.source,
    correlation,
    timestamp: new Date().toISOString(),
    group: identity.group,
    session: identity.sessionId,
    payload,
  };
}
