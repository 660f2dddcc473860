/**
 * CoreServices inside a plugin process. What belongs to a group (audit records, events) is asked of
 * the core, naming only the core's id of the request being handled; the core answers for that
 * request's group. The rest (declared credentials, config, the data folder) was handed over at start.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { assertStorageName } from "../../storage/names.ts";
import type { GroupViews, RunnerStart } from "../channel/messages.ts";
import { TO_CORE } from "../channel/messages.ts";
import type {
  AuditFilter,
  AuditRecordView,
  ButtonPress,
  CoreServices,
  SessionInfoView,
  ToolCatalogEntry,
} from "../sdk/types.ts";

export interface RunnerScope {
  readonly scope: string;
  readonly group: string | null;
  readonly sessionId: string | null;
}

const storage = new AsyncLocalStorage<RunnerScope>();

export function runInRunnerScope<T>(scope: RunnerScope, fn: () => T): T {
  return storage.run(Object.freeze({ ...scope }), fn);
}

function pluginError(plugin: string, what: string, fix: string): Error {
  return new Error(`[PLUGINS] Error: plugin "${plugin}" ${what}. Fix: ${fix}.`);
}

export interface RunnerServiceDeps {
  start: RunnerStart;
  /** A request to the core; resolves with its result, rejects with its error message. */
  ask(topic: string, args: unknown): Promise<unknown>;
  tell(topic: string, args: unknown): void;
  views(group: string): GroupViews | undefined;
}

export function runnerServices(deps: RunnerServiceDeps): CoreServices {
  const { start } = deps;
  const plugin = start.plugin;
  const config = Object.freeze({ ...start.config });
  const current = () => storage.getStore();
  return {
    async getAuditLog(filter?: AuditFilter): Promise<AuditRecordView[]> {
      const scope = current();
      if (!scope?.group) return [];
      return (await deps.ask(TO_CORE.auditLog, { scope: scope.scope, filter: filter ?? {} })) as AuditRecordView[];
    },
    getToolCatalog(): ToolCatalogEntry[] {
      const group = current()?.group;
      return group ? (deps.views(group)?.tools ?? []) : [];
    },
    getSessionInfo(): SessionInfoView | null {
      const scope = current();
      if (!scope?.group || !scope.sessionId) return null;
      return { sessionId: scope.sessionId, group: scope.group, plugins: deps.views(scope.group)?.plugins ?? [] };
    },
    async readCredential(key: string): Promise<string | null> {
      if (typeof key !== "string" || !Object.hasOwn(start.credentials, key)) {
        throw pluginError(
          plugin,
          `asked for the credential ${JSON.stringify(String(key).slice(0, 64))}, which its manifest does not declare`,
          'list it under "install": {"credentials": [{"key": "…"}]} in manifest.json',
        );
      }
      return start.credentials[key] ?? null;
    },
    async publishEvent(topic: string, payload: unknown, options?: { group?: string }): Promise<void> {
      const scope = current();
      await deps.ask(TO_CORE.publish, {
        scope: scope?.scope ?? null,
        topic,
        payload: payload ?? null,
        ...(options?.group !== undefined ? { group: options.group } : {}),
      });
    },
    async answerButton(press: ButtonPress): Promise<{ text: string }> {
      const answer = (await deps.ask(TO_CORE.button, { press })) as { text?: unknown } | null;
      return { text: typeof answer?.text === "string" ? answer.text : "" };
    },
    dataDir(feature: string): string {
      assertStorageName("feature", feature, "PLUGINS");
      if (feature !== plugin && !feature.startsWith(`${plugin}-`) && !feature.startsWith(`${plugin}_`)) {
        throw pluginError(plugin, `asked for the data folder "${feature}"`, `use "${plugin}" or "${plugin}-<name>"`);
      }
      const dir = join(start.dataRoot, feature);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      return dir;
    },
    config(): Readonly<Record<string, unknown>> {
      return config;
    },
    log(level, message): void {
      if (!["debug", "info", "warn", "error"].includes(level)) return;
      deps.tell(TO_CORE.log, { level, message: String(message).slice(0, 4000) });
    },
  };
}
