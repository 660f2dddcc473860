/**
 * The CoreServices one plugin gets. Everything group-shaped is taken from the calling
 * request's scope (request-scope.ts), never from the plugin's arguments: no filter, option or key a
 * plugin passes can reach another group's records.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { readCredential as readStoredCredential } from "../config/credentials.ts";
import type { AuditLog } from "../core/response/audit-log.ts";
import type { RecordFilter } from "../core/response/audit-read.ts";
import { toAuditRecordView } from "../core/response/audit-record.ts";
import { sanitizeText } from "../core/response/sanitize.ts";
import { stripTerminalEscapes } from "../core/response/terminal-text.ts";
import { mintIdentity, type SessionIdentity } from "../protocol/envelope.ts";
import { GROUP_NAME } from "../protocol/group-name.ts";
import { assertStorageName } from "../storage/names.ts";
import type { Catalog } from "./catalog.ts";
import type { Manifest } from "./manifest-schema.ts";
import { currentScope } from "./request-scope.ts";
import type { AuditFilter, AuditRecordView, CoreServices, SessionInfoView, ToolCatalogEntry } from "./sdk/types.ts";
import type { PluginStatus } from "./status.ts";

/**
 * Topics a channel plugin may publish: what it heard from the outside world. Not task.created: only the
 * scheduler announces a task, so the event feed cannot show one that was never added.
 */
export const CHANNEL_TOPICS: readonly string[] = ["message.inbound"];
const MAX_AUDIT_QUERY = 200;
const MAX_EVENT_BYTES = 1024 * 1024;
const MAX_LOG_CHARS = 2000;

export interface ServiceDeps {
  plugin: string;
  manifest: Manifest;
  home: string;
  audit: AuditLog;
  catalog: Catalog;
  statuses(): PluginStatus[];
  publish(identity: SessionIdentity, topic: string, payload: unknown): void;
  /** The plugin's own config section, or {}. */
  config: Readonly<Record<string, unknown>>;
  writeLog(line: string): void;
}

function pluginError(plugin: string, what: string, fix: string): Error {
  return new Error(`[PLUGINS] Error: plugin "${plugin}" ${what}. Fix: ${fix}.`);
}

/** A filter holding only the fields plugins may set; anything else a plugin passes is dropped. */
export function safeAuditFilter(filter: AuditFilter | undefined): RecordFilter {
  const f = (typeof filter === "object" && filter !== null ? filter : {}) as Record<string, unknown>;
  const out: RecordFilter = {};
  if (typeof f.correlation === "string" && f.correlation.length <= 64) out.correlation = f.correlation;
  if (typeof f.topic === "string" && f.topic.length <= 200) out.topic = f.topic;
  if (typeof f.outcome === "string" && f.outcome.length <= 16) out.outcome = f.outcome;
  const limit = typeof f.limit === "number" && Number.isFinite(f.limit) ? Math.floor(f.limit) : 50;
  out.limit = Math.min(Math.max(limit, 1), MAX_AUDIT_QUERY);
  return out;
}

export function sessionPluginsView(statuses: PluginStatus[]): SessionInfoView["plugins"] {
  return statuses
    .filter((s) => s.state === "healthy" || s.state === "failed")
    .map((s) => ({
      name: s.name,
      status: s.state === "healthy" ? ("healthy" as const) : ("failed" as const),
      source: s.source,
      ...(s.category ? { category: s.category } : {}),
      ...(s.reason ? { reason: s.reason } : {}),
    }));
}

export function createServices(deps: ServiceDeps): CoreServices {
  const { plugin, manifest } = deps;
  const declaredCredentials = new Set((manifest.install?.credentials ?? []).map((c) => c.key));
  const isChannel = (manifest.provides.channels ?? []).length > 0;
  const config = Object.freeze({ ...deps.config });

  return {
    async getAuditLog(filter?: AuditFilter): Promise<AuditRecordView[]> {
      const group = currentScope()?.group;
      if (!group) return [];
      await deps.audit.flush();
      const records = await deps.audit.query(group, safeAuditFilter(filter));
      return records.map(toAuditRecordView);
    },

    getToolCatalog(): ToolCatalogEntry[] {
      const group = currentScope()?.group ?? null;
      return deps.catalog
        .list()
        .filter((t) => group === null || deps.catalog.allows(t, group))
        .map((t) => ({ name: t.name, description: t.description, risk_level: t.risk_level, plugin: t.plugin }));
    },

    getSessionInfo(): SessionInfoView | null {
      const scope = currentScope();
      if (!scope?.group || !scope.sessionId) return null;
      return { sessionId: scope.sessionId, group: scope.group, plugins: sessionPluginsView(deps.statuses()) };
    },

    async readCredential(key: string): Promise<string | null> {
      if (typeof key !== "string" || !declaredCredentials.has(key)) {
        throw pluginError(
          plugin,
          `asked for the credential ${JSON.stringify(String(key).slice(0, 64))}, which its manifest does not declare`,
          'list it under "install": {"credentials": [{"key": "…"}]} in manifest.json',
        );
      }
      return readStoredCredential(deps.home, key);
    },

    async publishEvent(topic: string, payload: unknown, options?: { group?: string }): Promise<void> {
      if (!isChannel) {
        throw pluginError(
          plugin,
          "is not a channel plugin",
          'declare "provides": {"channels": [...]} to publish events',
        );
      }
      if (!CHANNEL_TOPICS.includes(topic)) {
        throw pluginError(
          plugin,
          `may not publish "${String(topic).slice(0, 64)}"`,
          `publish one of ${CHANNEL_TOPICS.join(", ")}`,
        );
      }
      const group = options?.group ?? currentScope()?.group ?? null;
      if (typeof group !== "string" || !GROUP_NAME.test(group)) {
        throw pluginError(
          plugin,
          "published an event without a valid group",
          "pass { group } with a lowercase group name",
        );
      }
      const size = Buffer.byteLength(JSON.stringify(payload ?? null));
      if (size > MAX_EVENT_BYTES) {
        throw pluginError(plugin, `published an event of ${size} bytes`, `keep events under ${MAX_EVENT_BYTES} bytes`);
      }
      await deps.audit.append({ kind: "event", outcome: "info", group, topic, detail: { plugin, bytes: size } });
      deps.publish(mintIdentity(`plugin:${plugin}`, group, `plugin:${plugin}`), topic, payload ?? null);
    },

    async answerButton(): Promise<{ text: string }> {
      // Button presses reach the core's channel router only from a plugin's own process.
      throw pluginError(plugin, "pressed a button outside a plugin process", "run it under `carapace start`");
    },

    dataDir(feature: string): string {
      assertStorageName("feature", feature, "PLUGINS");
      if (feature !== plugin && !feature.startsWith(`${plugin}-`) && !feature.startsWith(`${plugin}_`)) {
        throw pluginError(plugin, `asked for the data folder "${feature}"`, `use "${plugin}" or "${plugin}-<name>"`);
      }
      const dir = join(deps.home, "data", feature);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      return dir;
    },

    config(): Readonly<Record<string, unknown>> {
      return config;
    },

    log(level, message): void {
      if (!["debug", "info", "warn", "error"].includes(level)) return;
      const text = stripTerminalEscapes(sanitizeText(String(message))).slice(0, MAX_LOG_CHARS);
      deps.writeLog(`[plugin ${plugin}] ${level}: ${text}`);
    },
  };
}
