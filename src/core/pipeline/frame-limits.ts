import { errorObject } from "../../protocol/errors.ts";
import { type CallContext, Rejection, type StageDef } from "./context.ts";

/**
 * Byte-level checks before anything parses the frame (stage 3's first half, run first): size, then
 * nesting depth counted by a scan that skips string contents.
 */
export function jsonDepth(bytes: Uint8Array, limit: number): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number;
    if (inString) {
      if (b === 0x5c) i++;
      else if (b === 0x22) inString = false;
      continue;
    }
    if (b === 0x22) inString = true;
    else if (b === 0x7b || b === 0x5b) {
      depth++;
      if (depth > max) max = depth;
      if (max > limit) return max;
    } else if (b === 0x7d || b === 0x5d) depth--;
  }
  return max;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

export const frameLimits: StageDef = {
  name: "frame limits",
  stage: 3,
  async run(ctx: CallContext, next) {
    const { maxFrameBytes, maxJsonDepth } = ctx.limits;
    if (ctx.raw.length > maxFrameBytes) {
      throw new Rejection(errorObject("VALIDATION_FAILED", `message is larger than ${maxFrameBytes} bytes`));
    }
    if (jsonDepth(ctx.raw, maxJsonDepth) > maxJsonDepth) {
      throw new Rejection(errorObject("VALIDATION_FAILED", `message is nested deeper than ${maxJsonDepth} levels`));
    }
    try {
      ctx.parsed = JSON.parse(decoder.decode(ctx.raw));
    } catch {
      throw new Rejection(errorObject("VALIDATION_FAILED", "message is not valid UTF-8 JSON"));
    }
    await next();
  },
};
