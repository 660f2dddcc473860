/**
 * `carapace __plugin-runner`: one plugin in its own process. It reads its start message from stdin
 * (never argv or env), imports the handler, connects to its own socket and answers the core's
 * requests. Anything that goes wrong in here ends this process only; the core restarts it.
 */
import { dirname } from "node:path";
import { EMBEDDED_PLUGINS } from "../builtins.ts";
import {
  type BriefArgs,
  type ChannelAnswer,
  type ChannelError,
  type ChannelRequest,
  type DeliverArgs,
  type EventArgs,
  type GroupViews,
  type InvokeArgs,
  MAX_START_BYTES,
  type RunnerStart,
  TO_CORE,
  TO_PLUGIN,
} from "../channel/messages.ts";
import { importDetail } from "../import-detail.ts";
import type { BridgeHooks } from "../mcp/bridge.ts";
import { ToolError } from "../sdk/tool-error.ts";
import type { PluginHandler } from "../sdk/types.ts";
import { registerSdkModule } from "../sdk-seam.ts";
import { runInRunnerScope, runnerServices } from "./services.ts";

/** Exit codes the supervisor reads: a bad start is not worth a restart. */
export const RUNNER_EXIT = { badStart: 78, fault: 70, outOfMemory: 71 } as const;

async function readStart(): Promise<RunnerStart> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of Bun.stdin.stream()) {
    size += chunk.length;
    if (size > MAX_START_BYTES) throw new Error("start message too large");
    chunks.push(chunk);
  }
  return JSON.parse(Buffer.concat(chunks).toString("utf8")) as RunnerStart;
}

class StartFailure extends Error {
  constructor(
    readonly code: "IMPORT_FAILED" | "BAD_HANDLER" | "INIT_FAILED",
    message: string,
  ) {
    super(message);
  }
}

async function loadHandler(start: RunnerStart, hooks: BridgeHooks): Promise<PluginHandler> {
  registerSdkModule();
  const spec = start.handler;
  if (spec.kind === "mcp") return new (await import("../mcp/bridge.ts")).McpBridge(hooks);
  let mod: { default?: unknown };
  try {
    if (spec.kind === "embedded") {
      const embedded = EMBEDDED_PLUGINS.find((p) => p.name === spec.name);
      if (!embedded) throw new Error(`no embedded plugin ${spec.name}`);
      mod = await embedded.load();
    } else {
      mod = (await import(spec.path)) as { default?: unknown };
    }
  } catch (error) {
    throw new StartFailure("IMPORT_FAILED", importDetail(error, spec.kind === "file" ? dirname(spec.path) : ""));
  }
  const h = mod.default as Record<string, unknown> | undefined;
  if (typeof h?.initialize !== "function" || typeof h.handleToolInvocation !== "function") {
    throw new StartFailure("BAD_HANDLER", "handler.ts has no usable default export");
  }
  return h as unknown as PluginHandler;
}

function isOutOfMemory(error: unknown): boolean {
  return error instanceof RangeError && /out of memory/i.test(error.message);
}

function channelError(thrown: unknown): ChannelError {
  if (thrown instanceof StartFailure) return { code: thrown.code, message: thrown.message };
  if (thrown instanceof Error && thrown.name === "McpUnreachable")
    return { code: "MCP_UNREACHABLE", message: "the MCP server cannot be reached" };
  if (thrown instanceof ToolError) {
    return {
      tool_error: true,
      code: String(thrown.code),
      message: String(thrown.message),
      retriable: thrown.retriable === true,
    };
  }
  return { code: "PLUGIN_ERROR", message: "the tool failed" };
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

export async function runPluginRunner(): Promise<never> {
  let start: RunnerStart;
  try {
    start = await readStart();
  } catch (error) {
    process.stderr.write(`[PLUGINS] Error: the plugin runner got no usable start message (${describe(error)}).\n`);
    process.exit(RUNNER_EXIT.badStart);
  }
  // The transport is loaded only now: CARAPACE_LIBZMQ points at the library bound into the sandbox.
  const { DealerSocket } = await import("../../transport/sockets.ts");
  const views = new Map<string, GroupViews>();
  const pending = new Map<string, { resolve(v: unknown): void; reject(e: Error): void }>();
  let serial = 0;
  let dealer: InstanceType<typeof DealerSocket> | null = null;
  const send = (message: object) => dealer?.send([JSON.stringify(message)]);
  const ask = (topic: string, args: unknown) => {
    const correlation = `r${++serial}`;
    const { promise, resolve, reject } = Promise.withResolvers<unknown>();
    pending.set(correlation, { resolve, reject });
    send({ topic, correlation, arguments: args });
    return promise;
  };
  const tell = (topic: string, args: unknown) => send({ topic, correlation: "", arguments: args });
  const services = runnerServices({ start, ask, tell, views: (g) => views.get(g) });
  const fatal = (what: string, error: unknown, code: number) => {
    process.stderr.write(`[PLUGINS] Error: ${what}: ${describe(error)}\n`);
    tell(TO_CORE.log, { level: "error", message: `${what}: ${describe(error)}` });
    // Give the log frame a moment to leave, then end: the supervisor restarts the process.
    setTimeout(() => process.exit(code), 50);
  };
  process.on("uncaughtException", (error) =>
    fatal("uncaught error", error, isOutOfMemory(error) ? RUNNER_EXIT.outOfMemory : RUNNER_EXIT.fault),
  );
  process.on("unhandledRejection", (error) => fatal("unhandled rejection", error, RUNNER_EXIT.fault));

  const bridgeHooks: BridgeHooks = {
    toolsChanged: (tools) => tell(TO_CORE.mcpTools, { tools }),
    serverEnded: (why) => fatal("the MCP server ended", new Error(why), RUNNER_EXIT.fault),
  };
  let handler: PluginHandler | null = null;
  const reply = (correlation: string, outcome: { value: unknown } | { error: ChannelError }) => {
    if ("error" in outcome) return send({ kind: "error", correlation, error: outcome.error });
    // Serialized once, here: the bytes measured are the bytes the core receives.
    let text: string;
    try {
      text = JSON.stringify({ kind: "result", correlation, result: outcome.value ?? null });
    } catch {
      return send({ kind: "error", correlation, error: { code: "PLUGIN_ERROR", message: "the tool failed" } });
    }
    if (Buffer.byteLength(text) > start.maxResponseBytes + 1024) {
      return send({
        kind: "error",
        correlation,
        error: { code: "HANDLER_ERROR", message: `the tool's reply exceeds ${start.maxResponseBytes} bytes` },
      });
    }
    dealer?.send([text]);
  };
  const run = async (correlation: string, work: () => unknown) => {
    try {
      reply(correlation, { value: await work() });
    } catch (error) {
      if (isOutOfMemory(error)) return fatal("out of memory", error, RUNNER_EXIT.outOfMemory);
      if (!(error instanceof ToolError) && !(error instanceof StartFailure))
        tell(TO_CORE.log, { level: "error", message: describe(error) });
      reply(correlation, { error: channelError(error) });
    }
  };
  const keepViews = (v: GroupViews | undefined) => {
    if (v) views.set(v.group, v);
  };

  const onRequest = (req: ChannelRequest) => {
    const h = handler;
    switch (req.topic) {
      case TO_PLUGIN.ping:
        return reply(req.correlation, { value: { pong: true } });
      case TO_PLUGIN.initialize:
        return run(req.correlation, async () => {
          const loaded = await loadHandler(start, bridgeHooks);
          try {
            await runInRunnerScope({ scope: "", group: null, sessionId: null }, () => loaded.initialize(services));
          } catch (error) {
            throw new StartFailure("INIT_FAILED", describe(error).slice(0, 500));
          }
          handler = loaded;
          const hooks = (["handleEvent", "sessionBrief", "verify", "shutdown", "deliver"] as const).filter(
            (k) => typeof loaded[k] === "function",
          );
          const mcpTools = (loaded as { tools?: unknown }).tools;
          return { hooks, ...(start.handler.kind === "mcp" ? { mcp_tools: mcpTools } : {}) };
        });
      case TO_PLUGIN.invoke: {
        const a = req.arguments as InvokeArgs;
        keepViews(a.views);
        return run(req.correlation, () =>
          runInRunnerScope({ scope: a.scope, group: a.context.group, sessionId: a.context.sessionId }, () =>
            (h as PluginHandler).handleToolInvocation(a.tool, a.args, a.context),
          ),
        );
      }
      case TO_PLUGIN.event: {
        const a = req.arguments as EventArgs;
        keepViews(a.views);
        const group = a.envelope.group === "_core" ? null : a.envelope.group;
        return run(req.correlation, async () => {
          await runInRunnerScope({ scope: a.scope, group, sessionId: group ? a.envelope.session : null }, () =>
            h?.handleEvent?.(a.envelope),
          );
          return null;
        });
      }
      case TO_PLUGIN.brief: {
        const a = req.arguments as BriefArgs;
        return run(req.correlation, async () => {
          const text = await runInRunnerScope({ scope: a.scope, group: a.group, sessionId: null }, () =>
            h?.sessionBrief?.({ group: a.group }),
          );
          return typeof text === "string" ? text : null;
        });
      }
      case TO_PLUGIN.deliver: {
        const a = req.arguments as DeliverArgs;
        return run(req.correlation, async () => {
          const receipt = await runInRunnerScope({ scope: a.scope, group: null, sessionId: null }, () =>
            h?.deliver?.(a.delivery),
          );
          return receipt ?? null;
        });
      }
      case TO_PLUGIN.shutdown:
        return run(req.correlation, async () => {
          await h?.shutdown?.();
          setTimeout(() => process.exit(0), 20);
          return null;
        });
      default:
        return reply(req.correlation, { error: { code: "PLUGIN_ERROR", message: "unknown request" } });
    }
  };

  const onAnswer = (answer: ChannelAnswer) => {
    const waiter = pending.get(answer.correlation);
    if (!waiter) return;
    pending.delete(answer.correlation);
    if (answer.kind === "result") waiter.resolve(answer.result);
    else waiter.reject(new Error(answer.error.message));
  };

  dealer = new DealerSocket(
    start.endpoint,
    (frames) => {
      const body = frames[0];
      if (!body) return;
      let message: ChannelRequest | ChannelAnswer;
      try {
        message = JSON.parse(Buffer.from(body).toString("utf8"));
      } catch {
        return;
      }
      if ("kind" in message) onAnswer(message);
      else onRequest(message);
    },
    { maxMessageBytes: 64 * 1024 * 1024, receiveHighWater: 1000, maxFrames: 4 },
  );
  send({ topic: TO_CORE.hello, correlation: "", arguments: { nonce: start.nonce, pid: process.pid } });
  // Outside a sandbox nothing else ends this process with its parent.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) process.exit(0);
  }, 1000);
  return await new Promise<never>(() => {});
}
