import { buildRequestEnvelope } from "../../protocol/envelope.ts";
import { errorObject } from "../../protocol/errors.ts";
import { parseWire } from "../../protocol/wire.ts";
import { type CallContext, Rejection, type StageDef } from "./context.ts";

/**
 * Stage 1: build the envelope. Topic, correlation and arguments come from the wire; group, source and
 * session only from the identity the core bound to the connection.
 */
export const construct: StageDef = {
  name: "construct envelope",
  stage: 1,
  run(ctx: CallContext) {
    const parsed = parseWire(ctx.parsed);
    if (!parsed.ok) {
      throw new Rejection({ ...errorObject("VALIDATION_FAILED", parsed.reason, { field: parsed.field }) });
    }
    ctx.wire = parsed.wire;
    ctx.envelope = buildRequestEnvelope(
      ctx.identity,
      parsed.wire.topic,
      parsed.wire.correlation,
      parsed.wire.arguments,
    );
    return undefined;
  },
};
