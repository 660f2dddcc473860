import { afterEach, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { ALLOWED, checkLayers, importsOf } from "../../../build/check/layers.ts";
import { REPO_ROOT } from "./scratch-repo.ts";

/** How many known violations the allowlist held when the rule was written; it may only go down. */
const ALLOWED_WHEN_WRITTEN = 6;

let root: string | undefined;
afterEach(() => {
  if (root !== undefined) rmSync(root, { recursive: true, force: true });
  root = undefined;
});

function tree(files: Record<string, string>): string {
  root = mkdtempSync(join(tmpdir(), "carapace-layers-"));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

function runChecker(dir: string): { exitCode: number; output: string } {
  const result = Bun.spawnSync(["bun", join(REPO_ROOT, "build/check/layers.ts"), dir], {
    stdout: "pipe",
    stderr: "pipe",
  });
  return { exitCode: result.exitCode, output: `${result.stdout.toString()}${result.stderr.toString()}` };
}

test("the repository's imports follow the layers, and every allowlisted import still occurs", () => {
  const { violations, stale } = checkLayers(REPO_ROOT);
  expect(violations).toEqual([]);
  expect(stale).toEqual([]);
});

test("the allowlist only shrinks", () => {
  expect(ALLOWED.length).toBeLessThanOrEqual(ALLOWED_WHEN_WRITTEN);
});

test("a planted upward import (config → cli) fails the check and names both files", () => {
  const dir = tree({
    "src/cli/errors.ts": "export const EXIT = 1;\n",
    "src/config/load.ts": 'import { EXIT } from "../cli/errors.ts";\nexport const code = EXIT;\n',
  });
  const { violations } = checkLayers(dir);
  expect(violations).toEqual([
    { from: "src/config/load.ts", to: "src/cli/errors.ts", why: "src/config imports up into src/cli" },
  ]);
  const { exitCode, output } = runChecker(dir);
  expect(output).toContain("src/config/load.ts -> src/cli/errors.ts: src/config imports up into src/cli");
  expect(output).toContain("[LAYERS] Error: 1 import(s) break the layer rule.");
  expect(exitCode).toBe(1);
});

test("a downward import passes", () => {
  const dir = tree({
    "src/cli/start.ts": 'import { load } from "../config/load.ts";\nexport const x = load;\n',
    "src/config/load.ts": "export const load = 1;\n",
  });
  expect(checkLayers(dir).violations).toEqual([]);
});

test("a type-only cycle inside one folder is a cycle", () => {
  const dir = tree({
    "src/core/pipeline/context.ts": 'import type { FrameRead } from "./frame-limits.ts";\nexport type C = FrameRead;\n',
    "src/core/pipeline/frame-limits.ts": 'import type { C } from "./context.ts";\nexport type FrameRead = C | 1;\n',
  });
  expect(checkLayers(dir).violations).toEqual([
    { from: "src/core/pipeline/context.ts", to: "src/core/pipeline/frame-limits.ts", why: "import cycle" },
  ]);
});

test("a runtime adapter is reachable only from the container layer", () => {
  const dir = tree({
    "src/agent/manager.ts": 'import { run } from "../container/adapters/podman.ts";\nexport const x = run;\n',
    "src/container/lifecycle.ts": 'import { run } from "./adapters/podman.ts";\nexport const y = run;\n',
    "src/container/adapters/podman.ts": "export const run = 1;\n",
  });
  expect(checkLayers(dir).violations).toEqual([
    {
      from: "src/agent/manager.ts",
      to: "src/container/adapters/podman.ts",
      why: "src/container/adapters is private to src/container",
    },
  ]);
});

test("a plugin's internals are reachable only from the plugin host", () => {
  const dir = tree({
    "src/agent/manager.ts": 'import { brief } from "../../plugins/memory/brief.ts";\nexport const x = brief;\n',
    "plugins/memory/brief.ts": "export const brief = 1;\n",
  });
  expect(checkLayers(dir).violations.map((v) => v.why)).toEqual(["plugins/ is private to src/plugins"]);
});

test("re-exports, dynamic imports and type imports are all read", () => {
  const text = [
    'import type { A } from "./a.ts";',
    'export { B } from "./b.ts";',
    'const c = await import("./c.ts");',
    'import "node:fs";',
  ].join("\n");
  expect(importsOf(text)).toEqual(["./a.ts", "./b.ts", "./c.ts"]);
});
