import { mkdtempSync, rmSync } from "node:fs";
import { AuditLog } from "../../src/core/response/audit-log.ts";
import { Catalog } from "../../src/plugins/catalog.ts";
import { PluginHost, type PluginHostDeps } from "../../src/plugins/host.ts";
import type { Envelope, SessionIdentity } from "../../src/protocol/envelope.ts";
import { buildEventEnvelope } from "../../src/protocol/envelope.ts";
import { DEFAULT_LIMITS, type Limits } from "../../src/protocol/limits.ts";

const homes: string[] = [];

/** A fresh temp home (short path: session sockets live under it in some tests). */
export function tempHome(): string {
  const home = mkdtempSync("/tmp/cpp-");
  homes.push(home);
  return home;
}

export function removeHomes(): void {
  for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true });
}

export interface HostHarness {
  home: string;
  host: PluginHost;
  catalog: Catalog;
  audit: AuditLog;
  published: Envelope[];
  logs: string[];
}

/** A PluginHost over a real catalog and audit log in `home`; published events are delivered back to it. */
export function hostHarness(
  home: string,
  options: { limits?: Partial<Limits>; settings?: PluginHostDeps["settings"]; config?: Record<string, unknown> } = {},
): HostHarness {
  const catalog = new Catalog();
  const audit = new AuditLog(home);
  const published: Envelope[] = [];
  const logs: string[] = [];
  const limits: Limits = { ...DEFAULT_LIMITS, ...(options.limits ?? {}) };
  let host: PluginHost | null = null;
  const publish = (identity: SessionIdentity, topic: string, payload: unknown, correlation?: string | null) => {
    const envelope = buildEventEnvelope(identity, topic, payload, correlation ?? null);
    published.push(envelope);
    host?.deliver(envelope);
  };
  host = new PluginHost({
    home,
    catalog,
    audit,
    limits: () => limits,
    publish,
    ...(options.settings ? { settings: options.settings } : {}),
    configFor: () => options.config ?? {},
    writeLog: (line) => logs.push(line),
  });
  return { home, host, catalog, audit, published, logs };
}

export function contextFor(group: string, sessionId = `s-${group}`) {
  return { group, sessionId, correlation: crypto.randomUUID(), timestamp: new Date().toISOString(), source: "test" };
}
