/** The public types of `@carapace/testing` (shipped in the plugin author's .d.ts). */
import type { AuditRecordView, CoreServices, SessionInfoView, ToolCatalogEntry, ToolContext } from "../sdk/types.ts";

/** The parts of manifest.json the kit reads. */
export interface TestManifest {
  description: string;
  version: string;
  provides: {
    tools?: {
      name: string;
      description: string;
      risk_level: "low" | "high";
      arguments_schema: Record<string, unknown>;
    }[];
    channels?: string[];
  };
  allowed_groups?: string[];
  install?: { credentials?: { key: string; description?: string }[] };
}

/** One call a handler made on its services: the method and its arguments. */
export interface RecordedCall {
  method: keyof CoreServices;
  args: unknown[];
}

/** An in-memory credential store; `reads` lists every key asked for, in order. */
export interface FakeCredentialStore {
  get(key: string): string | null;
  set(key: string, value: string): void;
  delete(key: string): void;
  readonly reads: string[];
}

export interface FakeServicesOptions {
  group?: string;
  sessionId?: string;
  /** Credential values, or a store from fakeCredentialStore(). */
  credentials?: Record<string, string> | FakeCredentialStore;
  /** The credential keys readCredential may read (as the manifest's install.credentials); default: any. */
  declaredCredentials?: readonly string[];
  /** What config() returns. */
  config?: Record<string, unknown>;
  /** What getAuditLog() returns (before filtering by correlation/topic/outcome/limit). */
  auditRecords?: AuditRecordView[];
  /** What getToolCatalog() returns. */
  catalog?: ToolCatalogEntry[];
  /** Where dataDir() creates folders; default: a fresh temp folder. */
  dataRoot?: string;
}

/** CoreServices that record every call, with the published events and log lines kept for assertions. */
export interface FakeCoreServices extends CoreServices {
  readonly calls: RecordedCall[];
  readonly events: { topic: string; payload: unknown; group: string | null }[];
  readonly logs: { level: string; message: string }[];
  readonly credentials: FakeCredentialStore;
  /** The calls of one method. */
  callsOf(method: keyof CoreServices): RecordedCall[];
  sessionInfo(): SessionInfoView | null;
}

export interface TestContextOptions {
  group?: string;
  sessionId?: string;
  /** The plugin folder (usually `import.meta.dir`): its manifest.json is checked and used to validate arguments. */
  plugin?: string;
  /** A manifest object, instead of `plugin`. */
  manifest?: TestManifest;
  credentials?: Record<string, string> | FakeCredentialStore;
  config?: Record<string, unknown>;
  auditRecords?: AuditRecordView[];
}

export interface TestContext {
  /** What handleToolInvocation receives (a fresh correlation per invokeTool call). */
  readonly context: ToolContext;
  readonly services: FakeCoreServices;
  readonly manifest: TestManifest | null;
  /** The plugin's name (its folder's name), or "test-plugin". */
  readonly plugin: string;
}

/** The error object a caller would receive from the core for the same call. */
export interface TestError {
  code: string;
  message: string;
  retriable: boolean;
  stage?: number;
  field?: string;
  handler_code?: string;
}

export type InvokeOutcome =
  | { ok: true; result: unknown }
  | { ok: false; error: TestError /** What the handler threw, if it threw. */; thrown?: unknown };
