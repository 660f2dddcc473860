import type { ToolEntry } from "../../plugins/catalog.ts";
import type { Envelope, RequestPayload, SessionIdentity } from "../../protocol/envelope.ts";
import type { ErrorObject, Stage } from "../../protocol/errors.ts";
import type { Limits } from "../../protocol/limits.ts";
import type { WireMessage } from "../../protocol/wire.ts";

/** A frame after the byte-level checks: its parsed value, or why it was refused. */
export type FrameRead = { ok: true; value: unknown } | { ok: false; error: ErrorObject };

/** One call as it moves through the stages. Identity is fixed before stage 1 from host state. */
export interface CallContext {
  readonly identity: SessionIdentity;
  readonly raw: Uint8Array;
  readonly limits: Limits;
  /** Aborted when the caller is gone or the session ends: pending work is cancelled. */
  readonly cancel: CallCancel;
  readonly trace: (hop: string, detail?: Record<string, unknown>) => void;
  /** Told when a call starts waiting for a person (stage 5) so the server can send heartbeats. */
  readonly onPendingConfirmation: (confirmationId: string, waitMs: number) => void;
  /** Whether the caller is still connected, asked when a person approves (default: yes). */
  readonly callerAlive?: () => boolean;
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
  /** Epoch ms after which the caller has given up (its `ipc` timed out): stage 6 does not start the tool then. */
  readonly deadline?: () => number;
  /** Makes the record of intent durable; stage 6 runs the tool only once it resolved. */
  readonly recordIntent?: () => Promise<unknown>;
  /** Told when a tool that was answered as timed out or cancelled finishes after all. */
  readonly onLateOutcome?: (outcome: { ok: boolean; afterMs: number }) => void;
  /** Set by stage 6 once the tool was started: from then on its side effect may have happened. */
  ran?: boolean;
}

/** A call's cancellation: `aborted` is cheap to read; `signal` is for what waits (a confirmation, a slow tool). */
export interface CallCancel {
  readonly aborted: boolean;
  readonly signal: AbortSignal;
}

/**
 * The cancellation of a session's call, aborted when its caller is gone or its session ends. Most calls
 * end before anything waits on it, so its AbortSignal (costly to make) is made only when asked for.
 */
export class CallAbort implements CallCancel {
  private controller: AbortController | null = null;
  private done = false;

  get aborted(): boolean {
    return this.done;
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.done) this.controller.abort();
    }
    return this.controller.signal;
  }

  abort(): void {
    if (this.done) return;
    this.done = true;
    this.controller?.abort();
  }
}

/** An AbortSignal someone else owns (the operator's connection) as a call's cancellation. */
export function cancelOn(signal: AbortSignal): CallCancel {
  return {
    get aborted() {
      return signal.aborted;
    },
    signal,
  };
}

/** The trace of a call nobody traces: the chain skips building its hop text for it. */
export const NO_TRACE = (_hop: string, _detail?: Record<string, unknown>): void => {};

/**
 * One stage's check: it returns when the call passes, throws Rejection when it does not, and returns a
 * promise only when it has to wait (for a person, for the audit, for the tool).
 */
export type StageFn = (ctx: CallContext) => undefined | Promise<void>;

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
