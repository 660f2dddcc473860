/**
 * The layer rule (docs/ARCHITECTURE.md, "Layers"): every relative import in src/ and plugins/ runs
 * down the layers below, never up, never through a private folder from outside, and no set of files
 * imports each other in a cycle (type-only imports count: a type cycle is still a cycle).
 *
 * Usage: bun build/check/layers.ts [root]     exit 0 when clean, 1 on any violation.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, resolve } from "node:path";
import ts from "typescript";

/**
 * Top to bottom. A file belongs to the unit with the longest matching path prefix; it may import
 * its own unit, any unit in its own layer, and any unit in a layer further down the list.
 */
export const LAYERS: readonly (readonly string[])[] = [
  ["src/main.ts"],
  ["src/cli"],
  ["src/core/daemon"],
  ["src/doctor"],
  ["src/agent"],
  ["src/plugins/testing"],
  ["src/core"],
  ["src/plugins"],
  ["plugins"],
  ["src/container", "src/ipc"],
  ["src/core/response"],
  ["src/release", "src/storage"],
  ["src/config"],
  ["src/plugins/sdk"],
  ["src/protocol", "src/transport"],
  ["src/errors", "src/platform"],
];

/** Folders only their parent may import: the rest of the tree goes through the parent's interface. */
export const PRIVATE: Readonly<Record<string, string>> = {
  "src/container/adapters": "src/container",
  "plugins/": "src/plugins",
};

/**
 * Known violations, each `importer -> imported` (file paths), with why it is still here. This list
 * only shrinks: an entry that no longer occurs fails the check, and tests/build/check/layers.test.ts
 * holds its length to at most the count it had when the rule was written.
 */
export const ALLOWED: readonly string[] = [];

export interface Violation {
  readonly from: string;
  readonly to: string;
  readonly why: string;
}

const SOURCE = /\.(ts|tsx|mts)$/;
const ROOTS = ["src", "plugins"];

function listSources(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(join(root, dir)).sort()) {
      if (name === "node_modules") continue;
      const path = `${dir}/${name}`;
      if (statSync(join(root, path)).isDirectory()) walk(path);
      else if (SOURCE.test(name) && !name.endsWith(".d.ts")) out.push(path);
    }
  };
  for (const dir of ROOTS) if (existsSync(join(root, dir))) walk(dir);
  return out;
}

/** Every relative specifier the file imports or re-exports, type-only and dynamic ones included. */
export function importsOf(text: string): string[] {
  return ts
    .preProcessFile(text, true, true)
    .importedFiles.map((file) => file.fileName)
    .filter((spec) => spec.startsWith("."));
}

function unitOf(path: string): string | undefined {
  let best: string | undefined;
  for (const unit of LAYERS.flat()) {
    const matches = path === unit || path.startsWith(unit.endsWith("/") ? unit : `${unit}/`);
    if (matches && (best === undefined || unit.length > best.length)) best = unit;
  }
  return best;
}

function layerOf(unit: string): number {
  return LAYERS.findIndex((layer) => layer.includes(unit));
}

function privateBreach(from: string, to: string): string | undefined {
  for (const [folder, owner] of Object.entries(PRIVATE)) {
    const inside = (path: string): boolean => path.startsWith(folder.endsWith("/") ? folder : `${folder}/`);
    if (inside(to) && !inside(from) && !from.startsWith(`${owner}/`)) {
      return `${folder} is private to ${owner}`;
    }
  }
  return undefined;
}

/** Strongly connected components of more than one file (Tarjan), each sorted, in stable order. */
function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, next);
    low.set(node, next);
    next += 1;
    stack.push(node);
    onStack.add(node);
    for (const peer of graph.get(node) ?? []) {
      if (!index.has(peer)) {
        visit(peer);
        low.set(node, Math.min(low.get(node) ?? 0, low.get(peer) ?? 0));
      } else if (onStack.has(peer)) {
        low.set(node, Math.min(low.get(node) ?? 0, index.get(peer) ?? 0));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string | undefined;
      do {
        member = stack.pop();
        if (member === undefined) break;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const node of [...graph.keys()].sort()) if (!index.has(node)) visit(node);
  return found;
}

export function checkLayers(root: string): { violations: Violation[]; stale: string[]; files: number } {
  const files = listSources(root);
  const graph = new Map<string, string[]>();
  const violations: Violation[] = [];
  for (const from of files) {
    const targets: string[] = [];
    for (const spec of importsOf(readFileSync(join(root, from), "utf8"))) {
      const to = normalize(join(dirname(from), spec)).replaceAll("\\", "/");
      if (to.startsWith("..")) continue;
      targets.push(to);
      const fromUnit = unitOf(from);
      const toUnit = unitOf(to);
      if (fromUnit === undefined || toUnit === undefined) {
        if (SOURCE.test(to) && (ROOTS.some((dir) => to.startsWith(`${dir}/`)) || fromUnit === undefined)) {
          violations.push({ from, to, why: `${fromUnit === undefined ? from : to} is in no layer` });
        }
        continue;
      }
      const breach = privateBreach(from, to);
      if (breach !== undefined) violations.push({ from, to, why: breach });
      else if (layerOf(toUnit) < layerOf(fromUnit)) {
        violations.push({ from, to, why: `${fromUnit} imports up into ${toUnit}` });
      }
    }
    graph.set(from, targets);
  }
  for (const component of cycles(graph)) {
    violations.push({ from: component[0] ?? "", to: component.slice(1).join(", "), why: "import cycle" });
  }
  const keys = new Set(violations.map((v) => `${v.from} -> ${v.to}`));
  return {
    violations: violations.filter((v) => !ALLOWED.includes(`${v.from} -> ${v.to}`)),
    stale: ALLOWED.filter((entry) => !keys.has(entry)),
    files: files.length,
  };
}

if (import.meta.main) {
  const root = resolve(process.argv[2] ?? join(import.meta.dir, "../.."));
  const { violations, stale, files } = checkLayers(root);
  for (const v of violations) console.error(`${v.from} -> ${v.to}: ${v.why}`);
  for (const entry of stale) console.error(`${entry}: allowlisted but no longer imported`);
  if (violations.length > 0) {
    console.error(
      `[LAYERS] Error: ${violations.length} import(s) break the layer rule. Fix: import only downward (see LAYERS in build/check/layers.ts and docs/ARCHITECTURE.md); move shared code into a lower layer.`,
    );
    process.exit(1);
  }
  if (stale.length > 0) {
    console.error(
      `[LAYERS] Error: ${stale.length} allowlisted import(s) no longer occur. Fix: delete them from ALLOWED in build/check/layers.ts.`,
    );
    process.exit(1);
  }
  console.log(`[LAYERS] ok: ${files} files, ${LAYERS.length} layers, ${ALLOWED.length} allowlisted`);
}
