import { errorObject } from "../../protocol/errors.ts";
import type { Limits } from "../../protocol/limits.ts";
import { type CallContext, type FrameRead, Rejection, type StageDef } from "./context.ts";

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

/** Size, depth, then UTF-8 JSON: the one place a request's bytes are checked and parsed. */
export function readFrame(raw: Uint8Array, limits: Pick<Limits, "maxFrameBytes" | "maxJsonDepth">): FrameRead {
  const { maxFrameBytes, maxJsonDepth } = limits;
  if (raw.length > maxFrameBytes)
    return { ok: false, error: errorObject("VALIDATION_FAILED", `message is larger than ${maxFrameBytes} bytes`) };
  if (jsonDepth(raw, maxJsonDepth) > maxJsonDepth)
    return {
      ok: false,
      error: errorObject("VALIDATION_FAILED", `message is nested deeper than ${maxJsonDepth} levels`),
    };
  try {
    return { ok: true, value: JSON.parse(decoder.decode(raw)) };
  } catch {
    return { ok: false, error: errorObject("VALIDATION_FAILED", "message is not valid UTF-8 JSON") };
  }
}

/** The depth of a value that is already parsed, counted as jsonDepth counts its JSON (stops past `limit`). */
function valueDepth(value: unknown, limit: number, depth = 0): number {
  if (typeof value !== "object" || value === null) return depth;
  if (depth + 1 > limit) return depth + 1;
  let max = depth + 1;
  for (const child of Array.isArray(value) ? value : Object.values(value)) {
    max = Math.max(max, valueDepth(child, limit, depth + 1));
    if (max > limit) return max;
  }
  return max;
}

/**
 * A request that never was bytes (the operator's `carapace call`, parsed by the control socket): the
 * depth check on its value, so it is not serialized only to be parsed again.
 */
export function readValue(value: unknown, limits: Pick<Limits, "maxJsonDepth">): FrameRead {
  const { maxJsonDepth } = limits;
  if (valueDepth(value, maxJsonDepth) > maxJsonDepth)
    return {
      ok: false,
      error: errorObject("VALIDATION_FAILED", `message is nested deeper than ${maxJsonDepth} levels`),
    };
  return { ok: true, value };
}

export const frameLimits: StageDef = {
  name: "frame limits",
  stage: 3,
  run(ctx: CallContext) {
    // The server reads the frame once, before its reply cache; this stage decides on that reading.
    const read = ctx.frame ?? readFrame(ctx.raw, ctx.limits);
    if (!read.ok) throw new Rejection(read.error);
    ctx.parsed = read.value;
    return undefined;
  },
};
