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

/**
 * The JSON pointer of the first string longer than `max` bytes, or null. One walk; the pointer is put
 * together only on the way back from a hit, so a call within the limit builds no text.
 */
export function oversizedString(value: unknown, max: number): string | null {
  // A UTF-16 unit is at most 3 UTF-8 bytes: a short string needs no byte count.
  if (typeof value === "string") return value.length * 3 > max && Buffer.byteLength(value) > max ? "" : null;
  if (typeof value !== "object" || value === null) return null;
  for (const key of Object.keys(value)) {
    const hit = oversizedString((value as Record<string, unknown>)[key], max);
    if (hit !== null) return `/${escapePointer(key)}${hit}`;
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
