/**
 * `carapace plugin create` and `carapace plugin test` through the compiled binary, and the path a
 * plugin author takes: scaffold, fill in a tool, start the core, call it with the compiled `ipc`.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { installPlugin } from "../fixtures/plugins/install.ts";
import { type RunningCore, startCore, tempHome } from "../harness/core.ts";
import { carapace } from "./cli-run.ts";

const cores: RunningCore[] = [];
afterAll(async () => {
  for (const c of cores) await c.stop();
});

describe("plugin create → start → ipc", () => {
  test("a scaffolded plugin's ToolError arrives as HANDLER_ERROR with the plugin's message", async () => {
    const home = tempHome();
    const created = await carapace(home, ["plugin", "create", "greeter", "--tool", "hello,fail", "--yes"]);
    expect(created.code).toBe(0);
    const dir = join(home, "plugins/greeter");
    expect(created.stdout).toContain(`created plugin greeter in ${dir}`);
    const handlerPath = join(dir, "handler.ts");
    const source = readFileSync(handlerPath, "utf8");
    expect(source).toContain(
      'import { type CoreServices, type PluginHandler, type ToolContext, ToolError } from "@carapace/sdk";',
    );
    writeFileSync(
      handlerPath,
      source.replace(
        'case "greeter.fail": {',
        'case "greeter.fail": {\n        throw new ToolError("MY_CODE", "my message");',
      ),
    );

    const core = await startCore({ home });
    cores.push(core);
    const { socket } = await core.openSession("family");
    const failed = await core.ipc(socket, "greeter.fail", { text: "x" });
    expect(failed.code).toBe(1);
    expect(failed.json).toMatchObject({
      code: "HANDLER_ERROR",
      message: "my message",
      handler_code: "MY_CODE",
      stage: 6,
    });
    const hello = await core.ipc(socket, "greeter.hello", { text: "hi" });
    expect(hello).toMatchObject({ code: 0, json: { text: "hi" } });
    const invalid = await core.ipc(socket, "greeter.hello", { text: "hi", extra: 1 });
    expect(invalid.json).toMatchObject({ code: "VALIDATION_FAILED", field: "/extra" });
  });
});

describe("plugin create", () => {
  test("writes a manifest with closed schemas, a skill, a test, a tsconfig and the SDK types", async () => {
    const home = tempHome();
    const r = await carapace(home, [
      "plugin",
      "create",
      "notes",
      "--description",
      "Keeps notes.",
      "--tool",
      "add",
      "--yes",
    ]);
    expect(r.code).toBe(0);
    const dir = join(home, "plugins/notes");
    const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
    expect(manifest.description).toBe("Keeps notes.");
    expect(manifest.provides.tools[0]).toMatchObject({
      name: "notes.add",
      arguments_schema: { type: "object", additionalProperties: false },
    });
    expect(readFileSync(join(dir, "skills/notes.md"), "utf8")).toStartWith("---\nname: notes\n");
    expect(readFileSync(join(dir, "handler.test.ts"), "utf8")).toContain('from "@carapace/testing"');
    expect(readFileSync(join(dir, "carapace-sdk.d.ts"), "utf8")).toContain('declare module "@carapace/sdk"');
    expect(JSON.parse(readFileSync(join(dir, "tsconfig.json"), "utf8")).files).toEqual([
      "carapace-sdk.d.ts",
      "handler.ts",
    ]);
    expect((await carapace(home, ["plugin", "validate", dir])).code).toBe(0);
  });

  test("refuses an existing folder, a bad plugin name and a reserved tool name, writing nothing", async () => {
    const home = tempHome();
    expect((await carapace(home, ["plugin", "create", "twice", "--yes"])).code).toBe(0);
    const again = await carapace(home, ["plugin", "create", "twice", "--yes"]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("[PLUGIN] Error:");
    expect(again.stderr).toContain("already exists");
    const badName = await carapace(home, ["plugin", "create", "Bad.Name", "--yes"]);
    expect(badName.code).toBe(1);
    expect(badName.stderr).toContain("name_invalid");
    const reserved = await carapace(home, ["plugin", "create", "sneaky", "--tool", "hello.greet", "--yes"]);
    expect(reserved.code).toBe(1);
    expect(reserved.stderr).toContain("reserved_name");
    expect((await carapace(home, ["plugin", "validate", join(home, "plugins/sneaky")])).code).toBe(2);
  });
});

describe("plugin test (conformance)", () => {
  test("a fresh scaffold conforms, its own handler test included", async () => {
    const home = tempHome();
    await carapace(home, ["plugin", "create", "fresh", "--tool", "one,two", "--yes"]);
    const r = await carapace(home, ["plugin", "test", join(home, "plugins/fresh")]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    for (const row of [
      "manifest and folder",
      "import handler.ts",
      "initialize()",
      "fresh.one with valid arguments",
      "fresh.two with invalid arguments",
      "shutdown()",
    ]) {
      expect(r.stdout).toMatch(new RegExp(`✓ pass ${row.replace(/[().]/g, "\\$&")}`));
    }
    expect(r.stdout).toMatch(/✓ pass the plugin's own tests\s+2 passed/);
  });

  test("a failing own test fails the suite and shows its output", async () => {
    const home = tempHome();
    await carapace(home, ["plugin", "create", "wrong", "--yes"]);
    const testFile = join(home, "plugins/wrong/handler.test.ts");
    writeFileSync(
      testFile,
      readFileSync(testFile, "utf8").replace('result: { text: "hello" }', 'result: { text: "nope" }'),
    );
    const r = await carapace(home, ["plugin", "test", join(home, "plugins/wrong")]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/✗ fail the plugin's own tests\s+1 failed, 1 passed/);
  });

  test("a handler that throws a plain Error or returns a credential fails, with a table and exit 1", async () => {
    const home = tempHome();
    const plain = await carapace(home, ["plugin", "test", installPlugin(home, "plain-error")]);
    expect(plain.code).toBe(1);
    expect(plain.stdout).toContain("✗ fail plain_error.run with valid arguments");
    expect(plain.stdout).toContain("not a ToolError");
    const leak = await carapace(home, ["plugin", "test", installPlugin(home, "leak-secret"), "--json"]);
    expect(leak.code).toBe(1);
    const rows = JSON.parse(leak.stdout).rows as { check: string; outcome: string; detail: string }[];
    expect(rows.find((row) => row.check === "leak_secret.run with valid arguments")).toMatchObject({
      outcome: "fail",
      detail: expect.stringContaining("credential-looking"),
    });
    expect(leak.stdout).not.toContain("sk-ant");
  });

  test("a ToolError is conformant; a manifest the loader refuses stops the suite at the first row", async () => {
    const home = tempHome();
    const ok = await carapace(home, ["plugin", "test", installPlugin(home, "tool-error")]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain("ToolError MY_CODE");
    const dir = installPlugin(home, "tool-error", { as: "broken" });
    writeFileSync(join(dir, "manifest.json"), "{ not json");
    const broken = await carapace(home, ["plugin", "test", dir]);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toContain("✗ fail manifest and folder");
    expect(broken.stdout).toContain("manifest_invalid");
    expect((await carapace(home, ["plugin", "test", join(home, "nowhere")])).code).toBe(2);
  });
});
