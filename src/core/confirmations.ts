import { randomBytes } from "node:crypto";

export type Decision = "approved" | "denied" | "timeout" | "cancelled";

export interface PendingConfirmation {
  id: string;
  tool: string;
  group: string;
  session: string;
  correlation: string;
  summary: string;
  createdAt: number;
}

interface Entry extends PendingConfirmation {
  settle: (d: Decision) => void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * Pending high-risk calls. A call waits until a person approves or denies it, the timeout passes, or the
 * caller goes away; every outcome removes its state, so nothing can be approved afterwards.
 */
export class ConfirmationGate {
  private readonly pending = new Map<string, Entry>();
  private readonly listeners = new Set<(p: PendingConfirmation, state: "pending" | Decision) => void>();

  /** Told when a confirmation becomes pending and when it is decided; returns an unsubscribe. */
  subscribe(listener: (p: PendingConfirmation, state: "pending" | Decision) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private notify(entry: Entry, state: "pending" | Decision): void {
    const { settle: _s, timer: _t, ...view } = entry;
    for (const l of this.listeners) l(view, state);
  }

  request(
    info: Omit<PendingConfirmation, "id" | "createdAt">,
    timeoutMs: number,
    signal: AbortSignal,
  ): { id: string; decision: Promise<Decision> } {
    const id = randomBytes(6).toString("hex");
    let settle!: (d: Decision) => void;
    const decision = new Promise<Decision>((resolve) => {
      settle = resolve;
    });
    const finish = (d: Decision) => {
      const entry = this.pending.get(id);
      if (!entry) return;
      clearTimeout(entry.timer);
      this.pending.delete(id);
      signal.removeEventListener("abort", onAbort);
      this.notify(entry, d);
      settle(d);
    };
    const onAbort = () => finish("cancelled");
    const timer = setTimeout(() => finish("timeout"), timeoutMs);
    const entry: Entry = { ...info, id, createdAt: Date.now(), settle: finish, timer };
    this.pending.set(id, entry);
    if (signal.aborted) finish("cancelled");
    else signal.addEventListener("abort", onAbort, { once: true });
    if (this.pending.has(id)) this.notify(entry, "pending");
    return { id, decision };
  }

  /** Returns false when no such confirmation is pending (already decided, timed out or unknown). */
  answer(id: string, approve: boolean): boolean {
    const entry = this.pending.get(id);
    if (!entry) return false;
    entry.settle(approve ? "approved" : "denied");
    return true;
  }

  list(group?: string): PendingConfirmation[] {
    return [...this.pending.values()]
      .filter((e) => group === undefined || e.group === group)
      .map(({ settle: _s, timer: _t, ...rest }) => rest);
  }

  countForSession(session: string): number {
    let n = 0;
    for (const e of this.pending.values()) if (e.session === session) n++;
    return n;
  }

  cancelAll(): void {
    for (const e of [...this.pending.values()]) e.settle("cancelled");
  }
}

/** A short, single-line, bounded summary of the arguments for a person to read. */
export function summarizeArguments(args: Readonly<Record<string, unknown>>, max = 160): string {
  const text = JSON.stringify(args) ?? "{}";
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
