import { sessionPluginsView } from "../../plugins/services.ts";
import type { PluginStatus } from "../../plugins/status.ts";
import type { Catalog, ToolEntry } from "../catalog.ts";
import type { AuditLog } from "../response/audit-log.ts";
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
      description: "Shows this group's most recent audit records (calls, rejections, errors), oldest first.",
      risk_level: "low",
      plugin: "core",
      allowed_groups: ["*"],
      available: always,
      arguments_schema: {
        type: "object",
        properties: {
          limit: { type: "integer", minimum: 1, maximum: MAX_DIAGNOSTICS },
          outcome: { type: "string", enum: ["ok", "rejected", "error", "info"] },
        },
        additionalProperties: false,
      },
      invoke: async (args, context) => {
        await deps.audit.flush();
        const limit = typeof args.limit === "number" ? args.limit : 20;
        const records = await deps.audit.query(context.group, {
          limit,
          ...(typeof args.outcome === "string" ? { outcome: args.outcome } : {}),
        });
        return { group: context.group, records: records.map(toAuditRecordView) };
      },
    },
  ];
}
