import { readFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { checkManifest } from "../manifest-check.ts";
import { fakeCoreServices } from "./fake-services.ts";
import type { TestContext, TestContextOptions, TestManifest } from "./types.ts";

/** Reads and checks `<dir>/manifest.json` with every load-time rule of the core; throws on the first problem. */
export function loadTestManifest(dir: string): { name: string; manifest: TestManifest } {
  const folder = resolve(dir);
  const name = basename(folder);
  const checked = checkManifest(name, readFileSync(join(folder, "manifest.json")));
  const first = checked.problems[0];
  if (!checked.manifest || first) {
    throw new Error(
      `[TESTING] Error: ${folder}/manifest.json would be refused by the core: ${first?.category ?? "manifest_invalid"}: ${first?.message ?? "invalid"}. Fix: run \`carapace plugin validate ${dir}\` and correct what it reports.`,
    );
  }
  return { name, manifest: checked.manifest };
}

/**
 * Everything a handler test needs: the ToolContext a call receives, recording fake services, and
 * (from `plugin`, usually `import.meta.dir`) the checked manifest that invokeTool validates against.
 */
export function createTestContext(options: TestContextOptions = {}): TestContext {
  const group = options.group ?? "test";
  const sessionId = options.sessionId ?? "test-session";
  let plugin = "test-plugin";
  let manifest: TestManifest | null = options.manifest ?? null;
  if (options.plugin !== undefined) {
    const loaded = loadTestManifest(options.plugin);
    plugin = loaded.name;
    manifest = loaded.manifest;
  }
  const declared = manifest ? (manifest.install?.credentials ?? []).map((c) => c.key) : undefined;
  const services = fakeCoreServices(
    {
      group,
      sessionId,
      ...(options.credentials ? { credentials: options.credentials } : {}),
      ...(declared ? { declaredCredentials: declared } : {}),
      ...(options.config ? { config: options.config } : {}),
      ...(options.auditRecords ? { auditRecords: options.auditRecords } : {}),
      catalog: (manifest?.provides.tools ?? []).map((t) => ({
        name: t.name,
        description: t.description,
        risk_level: t.risk_level,
        plugin,
      })),
    },
    plugin,
  );
  return {
    context: {
      group,
      sessionId,
      correlation: crypto.randomUUID(),
      timestamp: new Date().toISOString(),
      source: "test",
    },
    services,
    manifest,
    plugin,
  };
}
