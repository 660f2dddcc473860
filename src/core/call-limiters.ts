import type { Limits } from "../protocol/limits.ts";
import { TokenBucketLimiter } from "./pipeline/token-bucket.ts";

/** Stage 4's rate limits: one bucket per session (its group's rate) and one per group for all its sessions together. */
export function callLimiters(
  limits: (group?: string) => Limits,
  groupOfSession: (session: string) => string | undefined,
) {
  const defaults = limits();
  const groupBucket = (group: string) => {
    const l = limits(group);
    return { ratePerMinute: l.rateLimitPerMinute, burst: l.rateLimitBurst };
  };
  return {
    perSession: new TokenBucketLimiter({
      ratePerMinute: defaults.rateLimitPerMinute,
      burst: defaults.rateLimitBurst,
      configFor: (sessionKey) => {
        const group = groupOfSession(sessionKey);
        return group === undefined ? undefined : groupBucket(group);
      },
    }),
    perGroup: new TokenBucketLimiter({
      // A group's bucket holds what all its sessions may spend together.
      ratePerMinute: defaults.rateLimitPerMinute * defaults.maxSessionsPerGroup,
      burst: defaults.rateLimitBurst * defaults.maxSessionsPerGroup,
      configFor: (group) => {
        const l = limits(group);
        return {
          ratePerMinute: l.rateLimitPerMinute * l.maxSessionsPerGroup,
          burst: l.rateLimitBurst * l.maxSessionsPerGroup,
        };
      },
    }),
  };
}
