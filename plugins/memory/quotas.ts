import { ToolError } from "@carapace/sdk";

export type QuotaKind = "stores" | "supersedes" | "deletes";
export type QuotaLimits = Readonly<Record<QuotaKind, number>>;

export const DEFAULT_QUOTAS: QuotaLimits = { stores: 20, supersedes: 5, deletes: 5 };

/** Sessions remembered at once; the oldest is forgotten past this (sessions are short-lived). */
const MAX_TRACKED_SESSIONS = 4_096;

/** Per-session write budgets. Only successful writes are counted. */
export class SessionQuotas {
  private readonly used = new Map<string, Record<QuotaKind, number>>();

  constructor(private readonly limits: QuotaLimits) {}

  private usage(group: string, sessionId: string): Record<QuotaKind, number> {
    const key = `${group}\u0000${sessionId}`;
    let usage = this.used.get(key);
    if (!usage) {
      usage = { stores: 0, supersedes: 0, deletes: 0 };
      this.used.set(key, usage);
      if (this.used.size > MAX_TRACKED_SESSIONS) {
        const oldest = this.used.keys().next().value;
        if (oldest !== undefined) this.used.delete(oldest);
      }
    }
    return usage;
  }

  /** Throws QUOTA_EXCEEDED unless every listed kind has room left for this session. */
  check(group: string, sessionId: string, kinds: readonly QuotaKind[]): void {
    const usage = this.usage(group, sessionId);
    for (const kind of kinds) {
      if (usage[kind] >= this.limits[kind]) {
        throw new ToolError(
          "QUOTA_EXCEEDED",
          `This session has used its ${this.limits[kind]} memory ${kind}. Keep the rest of what you learned in your answer; a new session gets a fresh quota.`,
        );
      }
    }
  }

  consume(group: string, sessionId: string, kinds: readonly QuotaKind[]): void {
    const usage = this.usage(group, sessionId);
    for (const kind of kinds) usage[kind]++;
  }

  remaining(group: string, sessionId: string): Record<QuotaKind, number> {
    const usage = this.usage(group, sessionId);
    return {
      stores: this.limits.stores - usage.stores,
      supersedes: this.limits.supersedes - usage.supersedes,
      deletes: this.limits.deletes - usage.deletes,
    };
  }
}
