import type { ToolEntry } from "../../plugins/catalog.ts";
import { errorObject } from "../../protocol/errors.ts";
import { approvedArguments, type ConfirmationGate } from "../confirmations.ts";
import { type CallContext, Rejection, type StageDef } from "./context.ts";

/**
 * Stage 5: a high-risk call waits for a person. Denial, timeout or a vanished caller stop it for good.
 * An approval holds for the request whose hash was shown; the tool gets exactly those arguments.
 */
export function confirmation(gate: ConfirmationGate): StageDef {
  return {
    name: "confirmation",
    stage: 5,
    run(ctx: CallContext) {
      const tool = ctx.tool as ToolEntry;
      if (tool.risk_level !== "high") return undefined;
      return askPerson(gate, ctx, tool);
    },
  };
}

async function askPerson(gate: ConfirmationGate, ctx: CallContext, tool: ToolEntry): Promise<void> {
  if (gate.countForSession(ctx.identity.sessionId) >= ctx.limits.maxPendingConfirmationsPerSession) {
    throw new Rejection(errorObject("RATE_LIMITED", "too many calls are waiting for confirmation", { retry_after: 5 }));
  }
  const args = ctx.envelope?.payload.arguments ?? {};
  const { id, requestHash, decision } = gate.request(
    {
      tool: tool.name,
      group: ctx.identity.group,
      session: ctx.identity.sessionId,
      correlation: ctx.envelope?.correlation ?? "",
      arguments: args,
    },
    ctx.limits.confirmationTimeoutMs,
    ctx.cancel.signal,
    ctx.callerAlive,
  );
  ctx.onPendingConfirmation(id, ctx.limits.confirmationTimeoutMs + ctx.limits.handlerTimeoutMs);
  const outcome = await decision;
  ctx.trace("confirmation answered", { id, outcome });
  if (outcome === "denied") throw new Rejection(errorObject("CONFIRMATION_DENIED", "the user denied this call"));
  if (outcome === "timeout") {
    throw new Rejection(errorObject("CONFIRMATION_TIMEOUT", "nobody confirmed this call in time"));
  }
  if (outcome === "cancelled") {
    throw new Rejection(errorObject("PLUGIN_UNAVAILABLE", "the call was cancelled because its caller went away"));
  }
  const approved = ctx.envelope ? approvedArguments(tool.name, ctx.envelope.payload.arguments, requestHash) : null;
  if (!ctx.envelope || !approved?.ok) {
    throw new Rejection(errorObject("CONFIRMATION_DENIED", "the request changed after it was approved"));
  }
  ctx.envelope = { ...ctx.envelope, payload: { ...ctx.envelope.payload, arguments: approved.value } };
}
