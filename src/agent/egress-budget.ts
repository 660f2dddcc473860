import type { EgressBudgets } from "../config/load.ts";

/**
 * Spending limits of the egress proxy: per session (tokens, requests) and per group and UTC day, shared
 * by all of the group's sessions. Checked before a request is forwarded; a request counts when it is
 * forwarded, its tokens when its answer ends (so a session can overshoot a token budget by one answer).
 */

export type BudgetName = "session_tokens" | "session_requests" | "group_daily_tokens" | "group_daily_requests";

export interface BudgetRefusal {
  budget: BudgetName;
  message: string;
}

export interface Spent {
  tokens: number;
  requests: number;
}

/** What one proxy asks before forwarding and tells after (see startEgressProxy's `budget`). */
export interface EgressBudget {
  admit(): BudgetRefusal | null;
  forwarded(): void;
  used(tokens: number): void;
}

export function utcDay(at = new Date()): string {
  return at.toISOString().slice(0, 10);
}

/** Per group per UTC day; seeded from what the audit log says was spent earlier today (a restart keeps it). */
export class GroupLedger {
  private readonly days = new Map<string, { day: string; spent: Spent }>();

  constructor(
    private readonly seed: (group: string, day: string) => Promise<Spent> = async () => ({ tokens: 0, requests: 0 }),
  ) {}

  /** Loads today's earlier spending of `group` once per day, before its session's proxy starts. */
  async prepare(group: string): Promise<void> {
    const day = utcDay();
    if (this.days.get(group)?.day === day) return;
    const earlier = await this.seed(group, day).catch(() => ({ tokens: 0, requests: 0 }));
    if (this.days.get(group)?.day !== day) this.days.set(group, { day, spent: { ...earlier } });
  }

  spent(group: string): Spent {
    const day = utcDay();
    let entry = this.days.get(group);
    if (entry?.day !== day) {
      entry = { day, spent: { tokens: 0, requests: 0 } };
      this.days.set(group, entry);
    }
    return entry.spent;
  }
}

function over(used: number, limit: number): boolean {
  return limit > 0 && used >= limit;
}

/** The budget of one session of `group`, sharing the group's day with its other sessions. */
export function sessionBudget(group: string, limits: EgressBudgets, ledger: GroupLedger): EgressBudget {
  const session: Spent = { tokens: 0, requests: 0 };
  return {
    admit() {
      const day = ledger.spent(group);
      if (over(session.tokens, limits.sessionTokens))
        return {
          budget: "session_tokens",
          message: `this session used its budget of ${limits.sessionTokens} API tokens; raise [budget] session_tokens in config.toml`,
        };
      if (over(session.requests, limits.sessionRequests))
        return {
          budget: "session_requests",
          message: `this session made its budget of ${limits.sessionRequests} API requests; raise [budget] session_requests in config.toml`,
        };
      if (over(day.tokens, limits.groupDailyTokens))
        return {
          budget: "group_daily_tokens",
          message: `group ${group} used its daily budget of ${limits.groupDailyTokens} API tokens; raise [budget] group_daily_tokens (or [groups.${group}] daily_tokens)`,
        };
      if (over(day.requests, limits.groupDailyRequests))
        return {
          budget: "group_daily_requests",
          message: `group ${group} made its daily budget of ${limits.groupDailyRequests} API requests; raise [budget] group_daily_requests (or [groups.${group}] daily_requests)`,
        };
      return null;
    },
    forwarded() {
      session.requests++;
      ledger.spent(group).requests++;
    },
    used(tokens) {
      session.tokens += tokens;
      ledger.spent(group).tokens += tokens;
    },
  };
}
