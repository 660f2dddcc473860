/**
 * Stand-ins for what the core gives a plugin: an in-memory credential store and CoreServices that
 * record every call. They follow the core's rules where a test could otherwise pass by accident
 * (an undeclared credential is refused, a data folder name is checked, only channels publish).
 */
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assertStorageName } from "../../storage/names.ts";
import type { AuditFilter, AuditRecordView, CoreServices, SessionInfoView, ToolCatalogEntry } from "../sdk/types.ts";
import type { FakeCoreServices, FakeCredentialStore, FakeServicesOptions, RecordedCall } from "./types.ts";

export function fakeCredentialStore(initial: Record<string, string> = {}): FakeCredentialStore {
  const values = new Map(Object.entries(initial));
  const reads: string[] = [];
  return {
    get(key) {
      reads.push(key);
      return values.get(key) ?? null;
    },
    set(key, value) {
      values.set(key, value);
    },
    delete(key) {
      values.delete(key);
    },
    reads,
  };
}

function isStore(value: FakeServicesOptions["credentials"]): value is FakeCredentialStore {
  return typeof value === "object" && value !== null && typeof (value as FakeCredentialStore).get === "function";
}

function filtered(records: AuditRecordView[], filter: AuditFilter | undefined): AuditRecordView[] {
  const f = filter ?? {};
  const limit = Math.min(Math.max(Math.floor(f.limit ?? 50), 1), 200);
  return records
    .filter((r) => f.correlation === undefined || r.correlation === f.correlation)
    .filter((r) => f.topic === undefined || r.topic === f.topic)
    .filter((r) => f.outcome === undefined || r.outcome === f.outcome)
    .slice(-limit);
}

/** CoreServices for tests, scoped to one group and session like the core's. `plugin` names its data folders. */
export function fakeCoreServices(options: FakeServicesOptions = {}, plugin = "test-plugin"): FakeCoreServices {
  const group = options.group ?? "test";
  const sessionId = options.sessionId ?? "test-session";
  const credentials = isStore(options.credentials)
    ? options.credentials
    : fakeCredentialStore(options.credentials ?? {});
  const declared = options.declaredCredentials ? new Set(options.declaredCredentials) : null;
  const config = Object.freeze({ ...(options.config ?? {}) });
  const catalog: ToolCatalogEntry[] = options.catalog ?? [];
  const calls: RecordedCall[] = [];
  const events: FakeCoreServices["events"] = [];
  const logs: FakeCoreServices["logs"] = [];
  let dataRoot = options.dataRoot ?? null;
  const record = (method: keyof CoreServices, args: unknown[]) => calls.push({ method, args });
  const sessionInfo = (): SessionInfoView => ({ sessionId, group, plugins: [] });

  return {
    calls,
    events,
    logs,
    credentials,
    callsOf: (method) => calls.filter((c) => c.method === method),
    sessionInfo,

    async getAuditLog(filter?: AuditFilter) {
      record("getAuditLog", [filter]);
      return filtered(options.auditRecords ?? [], filter);
    },
    getToolCatalog() {
      record("getToolCatalog", []);
      return catalog.map((t) => ({ ...t }));
    },
    getSessionInfo() {
      record("getSessionInfo", []);
      return sessionInfo();
    },
    async readCredential(key: string) {
      record("readCredential", [key]);
      if (declared && !declared.has(key)) {
        throw new Error(
          `[PLUGINS] Error: plugin "${plugin}" asked for the credential ${JSON.stringify(key)}, which its manifest does not declare. Fix: list it under "install": {"credentials": [{"key": "…"}]} in manifest.json.`,
        );
      }
      return credentials.get(key);
    },
    async publishEvent(topic: string, payload: unknown, opts?: { group?: string }) {
      record("publishEvent", [topic, payload, opts]);
      events.push({ topic, payload, group: opts?.group ?? group });
    },
    async answerButton(press) {
      record("answerButton", [press]);
      return { text: "recorded" };
    },
    dataDir(feature: string) {
      record("dataDir", [feature]);
      assertStorageName("feature", feature, "TESTING");
      dataRoot ??= mkdtempSync(join(tmpdir(), "carapace-test-data-"));
      const dir = join(dataRoot, feature);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      return dir;
    },
    config() {
      record("config", []);
      return config;
    },
    log(level, message) {
      record("log", [level, message]);
      logs.push({ level, message: String(message) });
    },
  };
}
