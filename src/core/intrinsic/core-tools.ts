import type { Catalog, ToolEntry } from "../../plugins/catalog.ts";
import { sessionPluginsView } from "../../plugins/services.ts";
import type { PluginStatus } from "../../plugins/status.ts";
import { toInvokeTopic } from "../../protocol/topics.ts";
import type { AuditLog } from "../response/audit-log.ts";
import type { RecordFilter } from "../response/audit-read.ts";
import { toAuditRecordView } from "../response/audit-record.ts";

/** What the intrinsic tools read from the running core. */
export interface IntrinsicDeps {
  catalog: Catalog;
  audit: AuditLog;
  pluginStatuses(): PluginStatus[];
}

const always = () => true;
const closedEmpty = { type: "object", properties: {}, additionalProperties: false };
const MAX_DIAGNOSTICS = 100;

/**
 * list_tools, get_session_info and get_diagnostics: answered by the core itself, through the same six
 * stages as plugin tools. Each reads only what the caller's own group may see.
 */
export function coreTools(deps: IntrinsicDeps): ToolEntry[] {
  return [
    {
      name: "list_tools",
      description: "Lists the tools this session may call, with their descriptions and risk levels.",
      risk_level: "low",
      plugin: "core",
      allowed_groups: ["*"],
      available: always,
      arguments_schema: closedEmpty,
      invoke: (_args, context) => ({
        tools: deps.catalog
          .list()
          .filter((t) => deps.catalog.allows(t, context.group) && t.available())
          .map((t) => ({ name: t.name, description: t.description, risk_level: t.risk_level })),
      }),
    },
    {
      name: "get_session_info",
      description: "Shows this session's id and group, and which plugins are healthy or failed (with why).",
      risk_level: "low",
      plugin: "core",
      allowed_groups: ["*"],
      available: always,
      arguments_schema: closedEmpty,
      invoke: (_args, context) => ({
        session_id: context.sessionId,
        group: context.group,
        source: context.source,
        plugins: sessionPluginsView(deps.pluginStatuses()),
      }),
    },
    {
      name: "get_diagnostics",
      description:
        "Shows this session's most recent audit records (calls, rejections, errors), oldest first; " +
        'filter by correlation, topic or outcome, or pass scope "group" for the whole group.',
      risk_level: "low",
      plugin: "core",
      allowed_groups: ["*"],
      available: always,
      arguments_schema: {
        type: "object",
        properties: {
          limit: { type: "integer", minimum: 1, maximum: MAX_DIAGNOSTICS },
          outcome: { type: "string", enum: ["ok", "rejected", "error", "info"] },
          correlation: { type: "string", minLength: 1, maxLength: 128 },
          topic: { type: "string", minLength: 1, maxLength: 256 },
          scope: { type: "string", enum: ["session", "group"] },
        },
        additionalProperties: false,
      },
      invoke: async (args, context) => {
        await deps.audit.flush();
        const scope = args.scope === "group" ? "group" : "session";
        const records = await deps.audit.query(context.group, diagnosticsFilter(args, scope, context.sessionId));
        return { group: context.group, scope, records: records.map(toAuditRecordView) };
      },
    },
  ];
}

/** The caller's filters, always narrowed to its own session unless it asked for its group. */
function diagnosticsFilter(args: Record<string, unknown>, scope: "session" | "group", sessionId: string): RecordFilter {
  const filter: RecordFilter = { limit: typeof args.limit === "number" ? args.limit : 20 };
  if (scope === "session") filter.session = sessionId;
  if (typeof args.outcome === "string") filter.outcome = args.outcome;
  if (typeof args.correlation === "string") filter.correlation = args.correlation;
  if (typeof args.topic === "string") filter.topic = toInvokeTopic(args.topic);
  return filter;
}
