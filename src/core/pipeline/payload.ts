import Ajv, { type ErrorObject as AjvError, type ValidateFunction } from "ajv";
import type { ToolEntry } from "../../plugins/catalog.ts";
import { errorObject } from "../../protocol/errors.ts";
import { escapePointer } from "../../protocol/wire.ts";
import { type CallContext, Rejection, type StageDef } from "./context.ts";

let ajv: Ajv | null = null;
const compiled = new WeakMap<ToolEntry, ValidateFunction>();

/** Compiled once per tool, on its first call: ajv.compile costs tens of ms. */
function validatorFor(tool: ToolEntry): ValidateFunction {
  let fn = compiled.get(tool);
  if (!fn) {
    ajv ??= new Ajv({ allErrors: false, strict: false, validateFormats: false });
    fn = ajv.compile(tool.arguments_schema);
    compiled.set(tool, fn);
  }
  return fn;
}

export function firstErrorField(err: AjvError | undefined): string {
  if (!err) return "";
  const params = err.params as Record<string, unknown>;
  if (err.keyword === "additionalProperties" && typeof params.additionalProperty === "string") {
    return `${err.instancePath}/${escapePointer(params.additionalProperty)}`;
  }
  if (err.keyword === "required" && typeof params.missingProperty === "string") {
    return `${err.instancePath}/${escapePointer(params.missingProperty)}`;
  }
  return err.instancePath;
}

/** The pointer of the first string longer than `max` bytes, or null. */
export function oversizedString(value: unknown, max: number, path = ""): string | null {
  // The pointer is built only for a value that has such a string (a UTF-16 unit is at most 3 UTF-8 bytes).
  return hasOversizedString(value, max) ? pointerToOversized(value, max, path) : null;
}

function hasOversizedString(value: unknown, max: number): boolean {
  if (typeof value === "string") return value.length * 3 > max && Buffer.byteLength(value) > max;
  if (typeof value !== "object" || value === null) return false;
  if (Array.isArray(value)) {
    for (const v of value) if (hasOversizedString(v, max)) return true;
    return false;
  }
  for (const k of Object.keys(value)) if (hasOversizedString((value as Record<string, unknown>)[k], max)) return true;
  return false;
}

function pointerToOversized(value: unknown, max: number, path: string): string | null {
  if (typeof value === "string") return Buffer.byteLength(value) > max ? path : null;
  if (typeof value !== "object" || value === null) return null;
  for (const [k, v] of Object.entries(value)) {
    const hit = pointerToOversized(v, max, `${path}/${escapePointer(k)}`);
    if (hit !== null) return hit;
  }
  return null;
}

/** Stage 3 (second half): per-string limit, then the tool's closed JSON Schema. */
export const payloadValidation: StageDef = {
  name: "payload validation",
  stage: 3,
  run(ctx: CallContext) {
    const tool = ctx.tool as ToolEntry;
    const args = ctx.envelope?.payload.arguments ?? {};
    const big = oversizedString(args, ctx.limits.maxArgumentStringBytes);
    if (big !== null) {
      throw new Rejection(
        errorObject("VALIDATION_FAILED", `a string argument exceeds ${ctx.limits.maxArgumentStringBytes} bytes`, {
          field: big,
        }),
      );
    }
    const validate = validatorFor(tool);
    if (!validate(args)) {
      const err = validate.errors?.[0];
      const field = firstErrorField(err);
      throw new Rejection(
        errorObject("VALIDATION_FAILED", `arguments do not match the schema: ${err?.message ?? "invalid"}`, { field }),
      );
    }
    return undefined;
  },
};
