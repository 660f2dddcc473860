import type { DecisionRecord } from "./confirmations.ts";
import type { AuditEntry } from "./response/audit-record.ts";

/** Who decided which request (by its hash), how, and after how long: one record per confirmation. */
export function decisionAuditEntry(d: DecisionRecord): AuditEntry {
  const c = d.confirmation;
  return {
    kind: "confirmation",
    outcome: "info",
    group: c.group,
    session: c.session,
    topic: `tool.invoke.${c.tool}`,
    correlation: c.correlation || null,
    stage: 5,
    detail: {
      decision: d.decision,
      confirmation: c.id,
      request_hash: c.request_hash,
      approver: d.approver,
      waited_ms: d.waitedMs,
      ...(d.reason ? { reason: d.reason } : {}),
    },
  };
}
