import type { ErrorObject } from "./errors.ts";

/**
 * What travels back to `ipc` on the request socket. `heartbeat` frames keep a caller waiting while a
 * call is pending confirmation.
 */
export type ReplyFrame =
  | { kind: "result"; correlation: string; result: unknown }
  | { kind: "error"; correlation: string; error: ErrorObject }
  | { kind: "heartbeat"; correlation: string; state: "pending_confirmation" | "running"; confirmation?: string };
