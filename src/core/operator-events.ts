/**
 * Events for the operator's live feed (`carapace events`): sessions opened and closed, each call's
 * outcome, approvals pending and decided. Only names, ids and outcomes: never a call's arguments or
 * result, which stay in the audit log.
 */
import type { SessionIdentity } from "../protocol/envelope.ts";
import type { ErrorObject } from "../protocol/errors.ts";
import { toolFromTopic } from "../protocol/topics.ts";
import type { Decision, PendingConfirmation } from "./confirmations.ts";
import type { Publish } from "./events.ts";

export function publishCallOutcome(
  publish: Publish,
  identity: SessionIdentity,
  topic: string | null,
  outcome: { correlation: string | null; error?: ErrorObject },
): void {
  const tool = topic === null ? null : (toolFromTopic(topic) ?? null);
  publish(
    identity,
    "call.completed",
    { tool, ok: !outcome.error, ...(outcome.error ? { code: outcome.error.code } : {}) },
    outcome.correlation,
  );
}

export function publishApproval(
  publish: Publish,
  pending: PendingConfirmation,
  state: "pending" | Decision,
  identity: SessionIdentity,
): void {
  const topic = state === "pending" ? "approval.pending" : "approval.decided";
  const payload = {
    confirmation: pending.id,
    tool: pending.tool,
    request_hash: pending.request_hash,
    ...(state === "pending" ? { expires_at: new Date(pending.expiresAt).toISOString() } : { decision: state }),
  };
  publish(identity, topic, payload, pending.correlation || null);
}
