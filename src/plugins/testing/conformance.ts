/**
 * The conformance suite (`carapace plugin test <dir>`): what the core relies on from every plugin.
 * The manifest passes every load-time check; the handler imports and initializes within 10 s with
 * fake services; every tool, called with the smallest valid arguments and with invalid ones, answers
 * or throws a ToolError (never another error, never a hang) and returns nothing credential-shaped;
 * shutdown() finishes within 5 s.
 */
import { resolve } from "node:path";
import { withTimeout } from "../../platform/timeout.ts";
import { DEFAULT_LIMITS } from "../../protocol/limits.ts";
import { importHandler } from "../loader.ts";
import { ToolError } from "../sdk/tool-error.ts";
import type { PluginHandler } from "../sdk/types.ts";
import { validatePluginFolder } from "../validate.ts";
import { createTestContext } from "./context.ts";
import { invokeTool } from "./invoke.ts";
import { invalidArguments, minimalValue } from "./sample-args.ts";
import { registerTestingModule } from "./seam.ts";
import { findSecretLeaks } from "./secret-leak.ts";
import type { TestContext } from "./types.ts";

export type CheckOutcome = "pass" | "fail" | "skip";

export interface ConformanceRow {
  check: string;
  outcome: CheckOutcome;
  detail: string;
}

export interface ConformanceOptions {
  initTimeoutMs?: number;
  shutdownTimeoutMs?: number;
  /** Per tool call (the core's default handler limit is 30 s; the suite is stricter). */
  callTimeoutMs?: number;
}

function describeThrown(thrown: unknown): string {
  if (thrown instanceof Error) return `${thrown.name}: ${thrown.message}`.slice(0, 200);
  return `a thrown ${typeof thrown}`;
}

async function callDirectly(
  handler: PluginHandler,
  tool: string,
  args: Record<string, unknown>,
  ctx: TestContext,
  ms: number,
) {
  let value: unknown;
  let thrown: unknown;
  let threw = false;
  const outcome = await withTimeout(async () => {
    try {
      value = await handler.handleToolInvocation(tool, structuredClone(args), { ...ctx.context });
    } catch (error) {
      threw = true;
      thrown = error;
    }
  }, ms);
  return { timedOut: outcome === "timeout", threw, thrown, value };
}

async function checkTool(
  handler: PluginHandler,
  tool: { name: string; arguments_schema: Record<string, unknown> },
  ctx: TestContext,
  ms: number,
): Promise<ConformanceRow[]> {
  const rows: ConformanceRow[] = [];
  const valid = minimalValue(tool.arguments_schema) as Record<string, unknown>;
  const r = await invokeTool(handler, tool.name, valid, ctx, { timeoutMs: ms, initialize: false });
  const label = `${tool.name} with valid arguments`;
  if (r.ok) {
    const leaks = findSecretLeaks(r.result);
    rows.push(
      leaks.length === 0
        ? { check: label, outcome: "pass", detail: `answered for ${JSON.stringify(valid).slice(0, 60)}` }
        : { check: label, outcome: "fail", detail: `returned credential-looking text at ${leaks.join(", ")}` },
    );
  } else if (r.error.code === "VALIDATION_FAILED") {
    rows.push({ check: label, outcome: "skip", detail: `no valid sample could be generated (${r.error.message})` });
  } else if (r.error.code === "HANDLER_ERROR" && r.thrown instanceof ToolError) {
    const leaks = findSecretLeaks(r.error.message);
    rows.push(
      leaks.length === 0
        ? { check: label, outcome: "pass", detail: `ToolError ${r.thrown.code}` }
        : { check: label, outcome: "fail", detail: "its ToolError message holds credential-looking text" },
    );
  } else {
    const why =
      r.error.code === "PLUGIN_ERROR" ? `threw ${describeThrown(r.thrown)} (not a ToolError)` : r.error.message;
    rows.push({ check: label, outcome: "fail", detail: `${r.error.code}: ${why}` });
  }

  const invalid = { ...valid, ...invalidArguments() };
  const refused = await invokeTool(handler, tool.name, invalid, ctx, { initialize: false });
  const direct = await callDirectly(handler, tool.name, invalid, ctx, ms);
  const invalidLabel = `${tool.name} with invalid arguments`;
  if (refused.ok || refused.error.code !== "VALIDATION_FAILED") {
    rows.push({ check: invalidLabel, outcome: "fail", detail: "the schema accepted an unknown property; close it" });
  } else if (direct.timedOut) {
    rows.push({ check: invalidLabel, outcome: "fail", detail: `the handler did not answer within ${ms} ms` });
  } else if (direct.threw && !(direct.thrown instanceof ToolError)) {
    rows.push({
      check: invalidLabel,
      outcome: "fail",
      detail: `threw ${describeThrown(direct.thrown)} (not a ToolError)`,
    });
  } else if (!direct.threw && findSecretLeaks(direct.value).length > 0) {
    rows.push({ check: invalidLabel, outcome: "fail", detail: "returned credential-looking text" });
  } else {
    const how = direct.threw ? `threw ToolError ${(direct.thrown as ToolError).code}` : "answered";
    rows.push({ check: invalidLabel, outcome: "pass", detail: `refused by the schema; the handler itself ${how}` });
  }
  return rows;
}

/** Runs the suite on the plugin folder `dir`; the rows say what passed, failed or could not be checked. */
export async function runConformance(dir: string, options: ConformanceOptions = {}): Promise<ConformanceRow[]> {
  registerTestingModule();
  const initMs = options.initTimeoutMs ?? DEFAULT_LIMITS.pluginInitTimeoutMs;
  const shutdownMs = options.shutdownTimeoutMs ?? DEFAULT_LIMITS.pluginShutdownTimeoutMs;
  const callMs = options.callTimeoutMs ?? 10_000;
  const rows: ConformanceRow[] = [];
  const report = await validatePluginFolder(dir, { importCheck: false });
  const first = report.problems[0];
  if (!report.valid || first) {
    rows.push({ check: "manifest and folder", outcome: "fail", detail: `${first?.category}: ${first?.message}` });
    return rows;
  }
  rows.push({
    check: "manifest and folder",
    outcome: "pass",
    detail: `${report.tools.length} tool(s), schemas closed`,
  });

  let handler: PluginHandler;
  try {
    handler = await importHandler({ name: report.name, source: "user", dir: resolve(dir), label: dir });
  } catch (error) {
    const detail = (error as { detail?: string }).detail;
    rows.push({
      check: "import handler.ts",
      outcome: "fail",
      detail: `${(error as Error).message}${detail ? ` (${detail})` : ""}`,
    });
    return rows;
  }
  rows.push({ check: "import handler.ts", outcome: "pass", detail: "default export is a PluginHandler" });

  const ctx = createTestContext({ plugin: dir, group: "conformance", sessionId: "conformance-session" });
  try {
    const outcome = await withTimeout(() => handler.initialize(ctx.services), initMs);
    if (outcome === "timeout") {
      rows.push({ check: "initialize()", outcome: "fail", detail: `did not finish within ${initMs} ms` });
      return rows;
    }
  } catch (error) {
    rows.push({ check: "initialize()", outcome: "fail", detail: `threw ${describeThrown(error)}` });
    return rows;
  }
  rows.push({ check: "initialize()", outcome: "pass", detail: `finished within ${initMs} ms with fake services` });

  for (const tool of ctx.manifest?.provides.tools ?? []) rows.push(...(await checkTool(handler, tool, ctx, callMs)));

  try {
    const outcome = await withTimeout(() => handler.shutdown?.(), shutdownMs);
    rows.push(
      outcome === "timeout"
        ? { check: "shutdown()", outcome: "fail", detail: `did not finish within ${shutdownMs} ms` }
        : {
            check: "shutdown()",
            outcome: "pass",
            detail: handler.shutdown ? `finished within ${shutdownMs} ms` : "none (optional)",
          },
    );
  } catch (error) {
    rows.push({ check: "shutdown()", outcome: "fail", detail: `threw ${describeThrown(error)}` });
  }
  return rows;
}
