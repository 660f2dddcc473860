import { randomBytes } from "node:crypto";
import { type ArgumentField, argumentFields, canonicalJson, fieldsSummary, requestHash } from "./approval-request.ts";

export type Decision = "approved" | "denied" | "timeout" | "cancelled";

/** Who decided, from host state only: the CLI's uid from the control socket's peer credentials, or a channel's user. */
export interface Approver {
  channel: string;
  uid?: number;
  pid?: number;
  user?: string;
}

export interface PendingConfirmation {
  id: string;
  tool: string;
  group: string;
  session: string;
  correlation: string;
  /** sha256 of the tool and its canonical arguments: what a decision is bound to. */
  request_hash: string;
  /** Every argument leaf, each cut on its own. */
  fields: ArgumentField[];
  /** The fields on one line, for notices. */
  summary: string;
  createdAt: number;
  expiresAt: number;
}

/** What the gate reports when a confirmation ends, for the audit log. */
export interface DecisionRecord {
  confirmation: PendingConfirmation;
  decision: Decision;
  approver: Approver | null;
  waitedMs: number;
  /** Why a decision other than the person's was taken (caller gone, hash mismatch, …). */
  reason?: string;
}

export type AnswerOutcome =
  | { ok: true; decision: "approved" | "denied"; confirmation: PendingConfirmation }
  | { ok: false; reason: "unknown" | "caller_gone" | "hash_mismatch" };

interface Entry extends PendingConfirmation {
  canonical: string;
  settle: (d: Decision, approver: Approver | null, reason?: string) => void;
  timer: ReturnType<typeof setTimeout>;
  callerAlive: () => boolean;
}

export interface ConfirmationRequest {
  tool: string;
  group: string;
  session: string;
  correlation: string;
  arguments: unknown;
}

function view(entry: Entry): PendingConfirmation {
  const { settle: _s, timer: _t, callerAlive: _c, canonical: _a, ...rest } = entry;
  return rest;
}

/**
 * Pending high-risk calls. A call waits until a person approves or denies it, the timeout passes, or the
 * caller goes away; every outcome removes its state, so an approval is single-use and nothing can be
 * approved afterwards. The decision is bound to the request hash, and the call runs with the arguments
 * that were shown (see `approvedArguments`).
 */
export class ConfirmationGate {
  private readonly pending = new Map<string, Entry>();
  private readonly listeners = new Set<(p: PendingConfirmation, state: "pending" | Decision) => void>();
  private readonly deciders = new Set<(d: DecisionRecord) => void>();

  /** Told when a confirmation becomes pending and when it is decided; returns an unsubscribe. */
  subscribe(listener: (p: PendingConfirmation, state: "pending" | Decision) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Told of every decision with who took it and how long the call waited (the audit trail). */
  onDecision(listener: (d: DecisionRecord) => void): () => void {
    this.deciders.add(listener);
    return () => this.deciders.delete(listener);
  }

  private notify(entry: Entry, state: "pending" | Decision): void {
    const v = view(entry);
    for (const l of this.listeners) l(v, state);
  }

  request(
    info: ConfirmationRequest,
    timeoutMs: number,
    signal: AbortSignal,
    callerAlive: () => boolean = () => true,
  ): { id: string; requestHash: string; decision: Promise<Decision> } {
    const id = randomBytes(6).toString("hex");
    const canonical = canonicalJson(info.arguments ?? {});
    const hash = requestHash(info.tool, canonical);
    const fields = argumentFields(info.arguments ?? {});
    let settle!: (d: Decision) => void;
    const decision = new Promise<Decision>((resolve) => {
      settle = resolve;
    });
    const finish = (d: Decision, approver: Approver | null, reason?: string) => {
      const entry = this.pending.get(id);
      if (!entry) return;
      clearTimeout(entry.timer);
      this.pending.delete(id);
      signal.removeEventListener("abort", onAbort);
      const record: DecisionRecord = {
        confirmation: view(entry),
        decision: d,
        approver,
        waitedMs: Date.now() - entry.createdAt,
        ...(reason ? { reason } : {}),
      };
      for (const l of this.deciders) l(record);
      this.notify(entry, d);
      settle(d);
    };
    const onAbort = () => finish("cancelled", null, "caller gone");
    const timer = setTimeout(() => finish("timeout", null, "expired"), timeoutMs);
    const now = Date.now();
    const entry: Entry = {
      id,
      tool: info.tool,
      group: info.group,
      session: info.session,
      correlation: info.correlation,
      request_hash: hash,
      fields,
      summary: fieldsSummary(fields),
      createdAt: now,
      expiresAt: now + timeoutMs,
      canonical,
      settle: finish,
      timer,
      callerAlive,
    };
    this.pending.set(id, entry);
    if (signal.aborted) finish("cancelled", null, "caller gone");
    else signal.addEventListener("abort", onAbort, { once: true });
    if (this.pending.has(id)) this.notify(entry, "pending");
    return { id, requestHash: hash, decision };
  }

  /**
   * A person's decision. An approval is refused (and the call cancelled) when the caller is gone by now,
   * or when `expectedHash` is given and is not a prefix of the request's hash.
   */
  answer(id: string, approve: boolean, approver: Approver, expectedHash?: string): AnswerOutcome {
    const entry = this.pending.get(id);
    if (!entry) return { ok: false, reason: "unknown" };
    if (expectedHash !== undefined && (expectedHash.length < 8 || !entry.request_hash.startsWith(expectedHash))) {
      return { ok: false, reason: "hash_mismatch" };
    }
    if (approve && !entry.callerAlive()) {
      entry.settle("cancelled", approver, "caller gone at approval");
      return { ok: false, reason: "caller_gone" };
    }
    const confirmation = view(entry);
    entry.settle(approve ? "approved" : "denied", approver);
    return { ok: true, decision: approve ? "approved" : "denied", confirmation };
  }

  /** Cancels the confirmations whose caller has gone away (checked now, not at the next heartbeat). */
  pruneGone(): void {
    for (const e of [...this.pending.values()]) if (!e.callerAlive()) e.settle("cancelled", null, "caller gone");
  }

  list(group?: string): PendingConfirmation[] {
    return [...this.pending.values()].filter((e) => group === undefined || e.group === group).map(view);
  }

  /** The canonical arguments, as they will reach the tool. */
  show(id: string): (PendingConfirmation & { arguments: string }) | null {
    const entry = this.pending.get(id);
    return entry ? { ...view(entry), arguments: entry.canonical } : null;
  }

  countForSession(session: string): number {
    let n = 0;
    for (const e of this.pending.values()) if (e.session === session) n++;
    return n;
  }

  cancelAll(): void {
    for (const e of [...this.pending.values()]) e.settle("cancelled", null, "core stopping");
  }
}

/**
 * The arguments an approved call runs with: parsed back from the canonical text that was shown and
 * hashed, so what the tool receives is exactly what the person saw.
 */
export function approvedArguments(
  tool: string,
  args: unknown,
  hash: string,
): { ok: true; value: Record<string, unknown> } | { ok: false } {
  const canonical = canonicalJson(args ?? {});
  if (requestHash(tool, canonical) !== hash) return { ok: false };
  return { ok: true, value: JSON.parse(canonical) as Record<string, unknown> };
}
