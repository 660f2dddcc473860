/**
 * One tool call the way the core makes it, through the core's own stages: stage 1 (the wire shape),
 * stage 3 (string limit, then the manifest's schema) and stage 6 (the handler with a time limit, its
 * reply size-checked, whatever it threw turned into the error object the caller would see). Stages 2,
 * 4 and 5 need a running core (its catalog, rate limits and a person to approve) and are left out.
 */

import { compose } from "../../core/pipeline/compose.ts";
import { construct } from "../../core/pipeline/construct.ts";
import { CallAbort, type CallContext, type StageDef } from "../../core/pipeline/context.ts";
import { dispatch } from "../../core/pipeline/dispatch.ts";
import { payloadValidation } from "../../core/pipeline/payload.ts";
import { mintIdentity } from "../../protocol/envelope.ts";
import { errorObject } from "../../protocol/errors.ts";
import { DEFAULT_LIMITS } from "../../protocol/limits.ts";
import { toInvokeTopic } from "../../protocol/topics.ts";
import type { ToolEntry } from "../catalog.ts";
import type { PluginHandler } from "../sdk/types.ts";
import type { InvokeOutcome, TestContext } from "./types.ts";

const initialized = new WeakMap<TestContext, WeakSet<PluginHandler>>();

/** A call in progress: the handler stage 6 runs, and what it threw, if it threw. */
interface CallInProgress {
  readonly handler: PluginHandler;
  readonly ctx: TestContext;
  readonly initialize: boolean;
  thrown?: { value: unknown };
}

/** The calls in progress, by correlation: how the one catalog entry per tool finds its call's handler. */
const running = new Map<string, CallInProgress>();

/**
 * The handler is initialized just before stage 6 (never for a call refused earlier), outside its time
 * limit, as the plugin host does before the first call reaches a plugin.
 */
const initialize: StageDef = {
  name: "initialize the handler",
  stage: 6,
  run(call) {
    const inProgress = running.get(call.envelope?.correlation ?? "");
    return inProgress?.initialize ? ensureInitialized(inProgress.handler, inProgress.ctx) : undefined;
  },
};
const stages = compose([construct, payloadValidation, initialize, dispatch]);

/** One catalog entry per manifest tool, so stage 3 compiles its schema once (as for the core's catalog). */
const entries = new WeakMap<object, ToolEntry>();

function entryFor(tool: ManifestTool, plugin: string): ToolEntry {
  let entry = entries.get(tool);
  if (!entry) {
    entry = {
      name: tool.name,
      description: tool.description,
      risk_level: tool.risk_level,
      arguments_schema: tool.arguments_schema,
      allowed_groups: ["*"],
      plugin,
      available: () => true,
      async invoke(args, context) {
        const call = running.get(context.correlation);
        if (!call) throw new Error("no call in progress");
        try {
          return await call.handler.handleToolInvocation(tool.name, args, {
            ...call.ctx.context,
            correlation: context.correlation,
            timestamp: context.timestamp,
          });
        } catch (error) {
          call.thrown = { value: error };
          throw error;
        }
      },
    };
    entries.set(tool, entry);
  }
  return entry;
}

type ManifestTool = NonNullable<NonNullable<TestContext["manifest"]>["provides"]["tools"]>[number];

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
  const declared = (ctx.manifest.provides.tools ?? []).find((t) => t.name === tool);
  if (!declared) return { ok: false, error: errorObject("UNKNOWN_TOOL", `no tool ${tool} in the manifest`) };
  const correlation = crypto.randomUUID();
  const call: CallContext = {
    identity: mintIdentity(ctx.context.sessionId, ctx.context.group, ctx.context.source),
    raw: new Uint8Array(0),
    limits: { ...DEFAULT_LIMITS, handlerTimeoutMs: options.timeoutMs ?? DEFAULT_LIMITS.handlerTimeoutMs },
    cancel: new CallAbort(),
    trace: () => {},
    onPendingConfirmation: () => {},
    parsed: { topic: toInvokeTopic(tool), correlation, arguments: args },
    tool: entryFor(declared, ctx.plugin),
  };
  const state: CallInProgress = { handler, ctx, initialize: options.initialize !== false };
  running.set(correlation, state);
  try {
    await stages(call);
  } finally {
    running.delete(correlation);
  }
  if (!call.error) return { ok: true, result: call.result ?? null };
  return { ok: false, error: call.error, ...(state.thrown ? { thrown: state.thrown.value } : {}) };
}
