/**
 * docs/PLUGIN_AUTHORING.md's samples are real: the blocks marked `<!-- tested: name -->` are put
 * together into the `notes` plugin outside this repository, which must typecheck against the shipped
 * .d.ts, pass `carapace plugin validate`, and pass `carapace plugin test` (its own tests are the doc's).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../harness/binaries.ts";
import { tempHome } from "../harness/core.ts";
import { carapace } from "./cli-run.ts";
import { removeHomes } from "./helpers.ts";

const DOC = readFileSync(join(ROOT, "docs/PLUGIN_AUTHORING.md"), "utf8");
const TSC = join(ROOT, "node_modules/typescript/bin/tsc");

/** Every fenced block right after a `<!-- tested: name -->` line, by name. */
export function testedBlocks(markdown: string): Map<string, { lang: string; code: string }> {
  const out = new Map<string, { lang: string; code: string }>();
  for (const m of markdown.matchAll(/<!-- tested: ([a-z-]+) -->\n```([a-z]+)\n([\s\S]*?)\n```/g)) {
    out.set(m[1] as string, { lang: m[2] as string, code: `${m[3]}\n` });
  }
  return out;
}

const blocks = testedBlocks(DOC);
let home = "";
let dir = "";

function block(name: string): string {
  const b = blocks.get(name);
  if (!b) throw new Error(`docs/PLUGIN_AUTHORING.md has no block marked <!-- tested: ${name} -->`);
  return b.code;
}

afterAll(removeHomes);

beforeAll(() => {
  home = tempHome();
  dir = join(home, "plugins/notes");
  mkdirSync(join(dir, "skills"), { recursive: true, mode: 0o755 });
  writeFileSync(join(dir, "manifest.json"), block("manifest"));
  writeFileSync(join(dir, "handler.ts"), block("handler"));
  writeFileSync(join(dir, "handler.test.ts"), block("handler-test"));
  writeFileSync(join(dir, "skills/notes.md"), block("skill"));
  cpSync(join(ROOT, "build/.generated/carapace-sdk.d.txt"), join(dir, "carapace-sdk.d.ts"));
});

describe("docs/PLUGIN_AUTHORING.md", () => {
  test("marks every sample the plugin is built from, each with a language", () => {
    expect([...blocks.keys()].sort()).toEqual(["handler", "handler-test", "manifest", "skill"]);
    expect(blocks.get("handler")?.lang).toBe("ts");
    expect(blocks.get("manifest")?.lang).toBe("json");
  });

  test("the handler and its test typecheck against the shipped .d.ts, outside this repository", () => {
    const tsconfig = {
      compilerOptions: {
        target: "ESNext",
        module: "Preserve",
        moduleResolution: "bundler",
        lib: ["ESNext"],
        types: ["bun"],
        typeRoots: [join(ROOT, "node_modules/@types")],
        strict: true,
        noUncheckedIndexedAccess: true,
        allowImportingTsExtensions: true,
        noEmit: true,
      },
      files: ["carapace-sdk.d.ts", "handler.ts", "handler.test.ts"],
    };
    writeFileSync(join(dir, "tsconfig.json"), JSON.stringify(tsconfig));
    const p = Bun.spawnSync([process.execPath, TSC, "--noEmit", "-p", dir], { stdout: "pipe", stderr: "pipe" });
    expect(`${p.stdout}${p.stderr}`).toBe("");
    expect(p.exitCode).toBe(0);
  }, 60_000);

  test("the plugin passes validate, and plugin test runs the doc's tests and the conformance suite", async () => {
    const valid = await carapace(home, ["plugin", "validate", dir]);
    expect(valid.stderr).toBe("");
    expect(valid.code).toBe(0);
    const r = await carapace(home, ["plugin", "test", dir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/✓ pass notes.add with valid arguments\s+ToolError NOT_CONFIGURED/);
    expect(r.stdout).toMatch(/✓ pass the plugin's own tests\s+2 passed/);
  });

  test("the watch error shown in the guide is the one the core prints", () => {
    expect(DOC).toContain("the previous version keeps serving. Fix: correct it and save again");
    expect(readFileSync(join(ROOT, "src/plugins/watch.ts"), "utf8")).toContain(
      "the previous version keeps serving. Fix: correct it and save again",
    );
  });
});
