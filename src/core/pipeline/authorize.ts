import type { Catalog, ToolEntry } from "../../plugins/catalog.ts";
import { errorObject } from "../../protocol/errors.ts";
import { type CallContext, Rejection, type StageDef } from "./context.ts";
import { type TokenBucketLimiter, takeAll } from "./token-bucket.ts";

export interface RateLimiters {
  perSession: TokenBucketLimiter;
  perGroup: TokenBucketLimiter;
}

/**
 * Stage 4: group authorization first (a rejected call spends no tokens), then one token from both the
 * session's and the group's bucket, or from neither.
 */
export function authorizeAndRateLimit(catalog: Catalog, limiters: RateLimiters): StageDef {
  return {
    name: "authorize and rate limit",
    stage: 4,
    run(ctx: CallContext) {
      const tool = ctx.tool as ToolEntry;
      if (!catalog.allows(tool, ctx.identity.group)) {
        throw new Rejection(errorObject("UNAUTHORIZED", "this session's group may not call this tool"));
      }
      const taken = takeAll(
        [
          { limiter: limiters.perSession, key: ctx.identity.sessionId },
          { limiter: limiters.perGroup, key: ctx.identity.group },
        ],
        Date.now(),
      );
      if (!taken.ok) {
        throw new Rejection(
          errorObject("RATE_LIMITED", "rate limit reached; retry later", { retry_after: taken.retryAfterSec }),
        );
      }
      return undefined;
    },
  };
}
