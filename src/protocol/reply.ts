import type { ErrorObject } from "./errors.ts";

/**
 * What travels back to `ipc` on the request socket. `heartbeat` frames keep a caller waiting while a
 * call is pending confirmation.
 */
export type ReplyFrame =
  | { kind: "result"; correlation: string; result: unknown }
  | { kind: "error"; correlation: string; error: ErrorObject }
  | {
      kind: "heartbeat";
      correlation: string;
      state: "pending_confirmation" | "running";
      /** How much longer the core may legitimately take; the client extends its deadline by this. */
      wait_ms: number;
      confirmation?: string;
    };
