/**
 * One tool call the way the core makes it: stage 3 (string limit, then the manifest's schema with
 * ajv), then the handler with a time limit, its reply size-checked, and whatever it threw turned into
 * the error object the caller would see (ToolError → HANDLER_ERROR, anything else → PLUGIN_ERROR).
 */
import Ajv, { type ValidateFunction } from "ajv";
import { handlerFailure } from "../../core/pipeline/dispatch.ts";
import { firstErrorField, oversizedString } from "../../core/pipeline/payload.ts";
import { withTimeout } from "../../platform/timeout.ts";
import { errorObject } from "../../protocol/errors.ts";
import { DEFAULT_LIMITS } from "../../protocol/limits.ts";
import type { PluginHandler } from "../sdk/types.ts";
import type { InvokeOutcome, TestContext } from "./types.ts";

let ajv: Ajv | null = null;
const validators = new WeakMap<object, ValidateFunction>();
const initialized = new WeakMap<TestContext, WeakSet<PluginHandler>>();

function validatorFor(schema: Record<string, unknown>): ValidateFunction {
  let fn = validators.get(schema);
  if (!fn) {
    ajv ??= new Ajv({ allErrors: false, strict: false, validateFormats: false });
    fn = ajv.compile(schema);
    validators.set(schema, fn);
  }
  return fn;
}

export interface InvokeOptions {
  /** The handler's time limit (the core's default is 30 s). */
  timeoutMs?: number;
  /** Call handler.initialize(ctx.services) before the first call with this context (default true). */
  initialize?: boolean;
}

async function ensureInitialized(handler: PluginHandler, ctx: TestContext): Promise<void> {
  let done = initialized.get(ctx);
  if (!done) {
    done = new WeakSet();
    initialized.set(ctx, done);
  }
  if (done.has(handler)) return;
  done.add(handler);
  await handler.initialize(ctx.services);
}

/** Invokes `tool` on `handler` with `args` as the core would, and returns what its caller would get. */
export async function invokeTool(
  handler: PluginHandler,
  tool: string,
  args: unknown,
  ctx: TestContext,
  options: InvokeOptions = {},
): Promise<InvokeOutcome> {
  if (!ctx.manifest) {
    throw new Error(
      "[TESTING] Error: invokeTool needs the plugin's manifest to validate arguments. Fix: createTestContext({ plugin: import.meta.dir }) (or pass { manifest }).",
    );
  }
  const entry = (ctx.manifest.provides.tools ?? []).find((t) => t.name === tool);
  if (!entry) return { ok: false, error: errorObject("UNKNOWN_TOOL", `no tool ${tool} in the manifest`) };
  if (typeof args !== "object" || args === null || Array.isArray(args)) {
    return { ok: false, error: errorObject("VALIDATION_FAILED", "arguments must be a JSON object", { field: "" }) };
  }
  const big = oversizedString(args, DEFAULT_LIMITS.maxArgumentStringBytes);
  if (big !== null) {
    const message = `a string argument exceeds ${DEFAULT_LIMITS.maxArgumentStringBytes} bytes`;
    return { ok: false, error: errorObject("VALIDATION_FAILED", message, { field: big }) };
  }
  const validate = validatorFor(entry.arguments_schema);
  if (!validate(args)) {
    const err = validate.errors?.[0];
    const message = `arguments do not match the schema: ${err?.message ?? "invalid"}`;
    return { ok: false, error: errorObject("VALIDATION_FAILED", message, { field: firstErrorField(err) }) };
  }
  if (options.initialize !== false) await ensureInitialized(handler, ctx);
  const limit = options.timeoutMs ?? DEFAULT_LIMITS.handlerTimeoutMs;
  const context = { ...ctx.context, correlation: crypto.randomUUID(), timestamp: new Date().toISOString() };
  try {
    const outcome = await withTimeout(
      () => handler.handleToolInvocation(tool, structuredClone(args) as Record<string, unknown>, context),
      limit,
    );
    if (outcome === "timeout") {
      return { ok: false, error: errorObject("PLUGIN_TIMEOUT", `the tool did not answer within ${limit} ms`) };
    }
    const result = outcome.value ?? null;
    const size = Buffer.byteLength(JSON.stringify(result));
    if (size > DEFAULT_LIMITS.maxResponseBytes) {
      const message = `the tool's reply exceeds ${DEFAULT_LIMITS.maxResponseBytes} bytes`;
      return { ok: false, error: errorObject("HANDLER_ERROR", message) };
    }
    return { ok: true, result };
  } catch (thrown) {
    return { ok: false, error: handlerFailure(thrown).error, thrown };
  }
}
