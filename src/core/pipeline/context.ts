import type { Envelope, RequestPayload, SessionIdentity } from "../../protocol/envelope.ts";
import type { ErrorObject, Stage } from "../../protocol/errors.ts";
import type { Limits } from "../../protocol/limits.ts";
import type { WireMessage } from "../../protocol/wire.ts";
import type { ToolEntry } from "../catalog.ts";
import type { FrameRead } from "./frame-limits.ts";

/** One call as it moves through the stages. Identity is fixed before stage 1 from host state. */
export interface CallContext {
  readonly identity: SessionIdentity;
  readonly raw: Uint8Array;
  readonly limits: Limits;
  /** Aborted when the caller is gone or the session ends: pending work is cancelled. */
  readonly signal: AbortSignal;
  readonly trace: (hop: string, detail?: Record<string, unknown>) => void;
  /** Told when a call starts waiting for a person (stage 5) so the server can send heartbeats. */
  readonly onPendingConfirmation: (confirmationId: string, waitMs: number) => void;
  /** `raw` already checked and parsed by the server (readFrame of frame-limits.ts), so it is done once. */
  readonly frame?: FrameRead;
  parsed?: unknown;
  wire?: WireMessage;
  envelope?: Envelope<RequestPayload>;
  tool?: ToolEntry;
  result?: unknown;
  /** Set by a stage that rejects; later stages do not run. */
  error?: ErrorObject;
  /** A handler's ToolError that used a pipeline code, kept so both forms are audited. */
  forgedCode?: string;
}

export type Next = () => Promise<void>;
export type StageFn = (ctx: CallContext, next: Next) => Promise<void>;

export interface StageDef {
  readonly name: string;
  readonly stage: Stage;
  readonly run: StageFn;
}

export class Rejection extends Error {
  constructor(readonly error: ErrorObject) {
    super(error.message);
  }
}
