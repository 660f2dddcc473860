/**
 * The SDK's .d.ts (build/sdk-dts.ts): emitted from the real source types, embedded current in the
 * binary, and enough for a plugin outside this repository to typecheck with nothing but tsc.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { generateSdkDeclarations } from "../../build/sdk-dts.ts";
import { ROOT } from "../harness/binaries.ts";
import { tempHome } from "../harness/core.ts";
import { carapace } from "./cli-run.ts";
import { removeHomes } from "./helpers.ts";

const TSC = join(ROOT, "node_modules/typescript/bin/tsc");
let dts = "";
let plugin = "";
let handler = "";

afterAll(removeHomes);

beforeAll(async () => {
  dts = generateSdkDeclarations();
  const home = tempHome();
  expect((await carapace(home, ["plugin", "create", "typed", "--tool", "go", "--yes"])).code).toBe(0);
  plugin = join(home, "plugins/typed");
  handler = readFileSync(join(plugin, "handler.ts"), "utf8");
});

function tsc(project: string): { code: number; out: string } {
  const p = Bun.spawnSync([process.execPath, TSC, "--noEmit", "-p", project], {
    cwd: project,
    stdout: "pipe",
    stderr: "pipe",
  });
  return { code: p.exitCode, out: `${p.stdout.toString()}${p.stderr.toString()}` };
}

describe("the declaration bundle", () => {
  test("declares @carapace/sdk and @carapace/testing with the handler types, and nothing from node_modules", () => {
    expect(dts).toContain('declare module "@carapace/sdk" {');
    expect(dts).toContain('declare module "@carapace/testing" {');
    for (const name of [
      "class ToolError",
      "interface PluginHandler",
      "interface CoreServices",
      "interface ToolContext",
      "function invokeTool",
      "function createTestContext",
      "function assertNoSecretLeak",
    ]) {
      expect(dts).toContain(name);
    }
    expect(dts).not.toMatch(/from "(ajv|node:|bun)/);
  });

  test("the copy embedded in the binary is current (run `bun build/sdk-dts.ts` after changing SDK types)", () => {
    const embedded = join(ROOT, "build/.generated/carapace-sdk.d.txt");
    expect(existsSync(embedded)).toBe(true);
    expect(readFileSync(embedded, "utf8")).toBe(dts);
    expect(readFileSync(join(plugin, "carapace-sdk.d.ts"), "utf8")).toBe(dts);
  });
});

describe("a plugin outside this repository typechecks against it", () => {
  test("the scaffold as written: no errors", () => {
    const r = tsc(plugin);
    expect(r.out).toBe("");
    expect(r.code).toBe(0);
  });

  test("a ToolError without a message is an error", () => {
    writeFileSync(
      join(plugin, "handler.ts"),
      handler.replace(/new ToolError\("UNSUPPORTED_TOOL", [^;]*\);/, 'new ToolError("UNSUPPORTED_TOOL");'),
    );
    const r = tsc(plugin);
    expect(r.code).not.toBe(0);
    expect(r.out).toContain("handler.ts");
    expect(r.out).toContain("TS2554");
  });

  test("a handler without handleToolInvocation is an error", () => {
    writeFileSync(join(plugin, "handler.ts"), handler.replace("async handleToolInvocation(", "async handleCall("));
    const r = tsc(plugin);
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/TS2353|TS2741/);
  });

  test("its handler test typechecks against @carapace/testing (with Bun's types for bun:test)", () => {
    writeFileSync(join(plugin, "handler.ts"), handler);
    const config = JSON.parse(readFileSync(join(plugin, "tsconfig.json"), "utf8"));
    config.compilerOptions.types = ["bun"];
    config.compilerOptions.typeRoots = [join(ROOT, "node_modules/@types")];
    config.files.push("handler.test.ts");
    writeFileSync(join(plugin, "tsconfig.json"), JSON.stringify(config));
    const r = tsc(plugin);
    expect(r.out).toBe("");
    expect(r.code).toBe(0);
    const test = readFileSync(join(plugin, "handler.test.ts"), "utf8");
    writeFileSync(
      join(plugin, "handler.test.ts"),
      test.replace("createTestContext({ plugin: import.meta.dir,", "createTestContext({ plugin: 42,"),
    );
    expect(tsc(plugin).out).toContain("TS2322");
  }, 60_000);
});
