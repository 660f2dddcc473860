/**
 * A CycloneDX 1.5 JSON SBOM of what the release binaries contain: the runtime dependencies in bun.lock
 * (transitively, with their registry integrity hashes), the libzmq taken from the zeromq prebuilds, and
 * the Bun runtime every compiled executable carries.
 */
import { createHash, randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "../..");

/** zeromq's JavaScript half is never loaded (the core uses libzmq over bun:ffi): only its prebuilt libzmq ships. */
const NOT_SHIPPED = new Set(["cmake-ts", "node-addon-api"]);

interface LockEntry {
  name: string;
  version: string;
  dependencies: Record<string, string>;
  integrity: string;
}

export interface SbomComponent {
  type: "library" | "application" | "framework";
  "bom-ref": string;
  name: string;
  version: string;
  purl?: string;
  hashes?: { alg: string; content: string }[];
  licenses?: { license: { id?: string; name?: string } }[];
  description?: string;
}

function readLock(): { deps: string[]; packages: Map<string, LockEntry> } {
  const lock = Bun.JSONC.parse(readFileSync(join(root, "bun.lock"), "utf8")) as {
    workspaces: Record<string, { dependencies?: Record<string, string> }>;
    packages: Record<string, [string, string, { dependencies?: Record<string, string> }, string]>;
  };
  const packages = new Map<string, LockEntry>();
  for (const [key, [spec, , meta, integrity]] of Object.entries(lock.packages)) {
    const at = spec.lastIndexOf("@");
    packages.set(key, {
      name: spec.slice(0, at),
      version: spec.slice(at + 1),
      dependencies: meta?.dependencies ?? {},
      integrity: integrity ?? "",
    });
  }
  return { deps: Object.keys(lock.workspaces[""]?.dependencies ?? {}), packages };
}

function purl(name: string, version: string): string {
  return `pkg:npm/${name.startsWith("@") ? `%40${name.slice(1)}` : name}@${version}`;
}

function integrityHashes(integrity: string): { alg: string; content: string }[] {
  const [alg, b64] = integrity.split("-", 2);
  if (alg !== "sha512" || !b64) return [];
  return [{ alg: "SHA-512", content: Buffer.from(b64, "base64").toString("hex") }];
}

function license(name: string): SbomComponent["licenses"] {
  const manifest = join(root, "node_modules", name, "package.json");
  if (!existsSync(manifest)) return undefined;
  const value = (JSON.parse(readFileSync(manifest, "utf8")) as { license?: unknown }).license;
  return typeof value === "string" ? [{ license: { id: value } }] : undefined;
}

/** Every runtime dependency reachable from package.json's `dependencies`, once each. */
export function shippedPackages(): LockEntry[] {
  const { deps, packages } = readLock();
  const seen = new Map<string, LockEntry>();
  const queue = [...deps];
  while (queue.length > 0) {
    const name = queue.shift() as string;
    if (seen.has(name) || NOT_SHIPPED.has(name)) continue;
    const entry = packages.get(name);
    if (!entry) throw new Error(`[RELEASE] Error: bun.lock has no entry for ${name}. Fix: run \`bun install\`.`);
    seen.set(name, entry);
    queue.push(...Object.keys(entry.dependencies));
  }
  return [...seen.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
}

export function buildSbom(options: {
  version: string;
  bunVersion: string;
  libzmq: { path: string; target: string }[];
}): object {
  const components: SbomComponent[] = shippedPackages().map((p) => ({
    type: "library",
    "bom-ref": purl(p.name, p.version),
    name: p.name,
    version: p.version,
    purl: purl(p.name, p.version),
    hashes: integrityHashes(p.integrity),
    licenses: license(p.name),
  }));
  for (const lib of options.libzmq) {
    components.push({
      type: "library",
      "bom-ref": `libzmq-4.3.5-${lib.target}`,
      name: "libzmq",
      version: "4.3.5",
      purl: "pkg:github/zeromq/libzmq@v4.3.5",
      hashes: [{ alg: "SHA-256", content: createHash("sha256").update(readFileSync(lib.path)).digest("hex") }],
      licenses: [{ license: { id: "MPL-2.0" } }],
      description: `embedded in the ${lib.target} binaries, taken from ${lib.path.slice(root.length + 1)}`,
    });
  }
  components.push({
    type: "framework",
    "bom-ref": `pkg:npm/bun@${options.bunVersion}`,
    name: "bun",
    version: options.bunVersion,
    purl: `pkg:npm/bun@${options.bunVersion}`,
    licenses: [{ license: { id: "MIT" } }],
    description: "the runtime inside every executable built with `bun build --compile`",
  });
  return {
    bomFormat: "CycloneDX",
    specVersion: "1.5",
    serialNumber: `urn:uuid:${randomUUID()}`,
    version: 1,
    metadata: {
      timestamp: new Date().toISOString(),
      tools: {
        components: [{ type: "application", name: "carapace build/release/sbom.ts", version: options.version }],
      },
      component: {
        type: "application",
        "bom-ref": `carapace@${options.version}`,
        name: "carapace",
        version: options.version,
        licenses: [{ license: { id: "MIT" } }],
      },
    },
    components,
    dependencies: [{ ref: `carapace@${options.version}`, dependsOn: components.map((c) => c["bom-ref"]) }],
  };
}
