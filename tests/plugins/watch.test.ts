/**
 * `carapace start --watch` through the compiled binaries: an edited handler answers differently
 * without a restart, a broken edit keeps the old version serving and the core says why, the other plugins
 * never stop, and unsafe plugin folders are refused.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { installPlugin } from "../fixtures/plugins/install.ts";
import { type RunningCore, startCore, tempHome } from "../harness/core.ts";
import { carapace } from "./cli-run.ts";

let core: RunningCore;
let socket: string;
let handlerPath: string;
/** A reload takes a debounce and a fresh plugin process: well under a second here, far longer under load. */
const RELOAD_MS = 30_000;

async function textOf(tool: string): Promise<unknown> {
  const r = await core.ipc(socket, tool, { text: "hi" });
  return r.code === 0 ? r.json?.text : r.json;
}

async function waitFor(pred: () => Promise<boolean> | boolean, ms: number): Promise<void> {
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    if (await pred()) return;
    await Bun.sleep(25);
  }
  throw new Error(`condition not met within ${ms} ms; core output:\n${core.output()}`);
}

beforeAll(async () => {
  const home = tempHome();
  chmodSync(home, 0o755);
  expect((await carapace(home, ["plugin", "create", "live", "--yes"])).code).toBe(0);
  installPlugin(home, "tool-error");
  handlerPath = join(home, "plugins/live/handler.ts");
  // The tests poll a tool until a reload shows: a rate limit would answer the polls instead of the tool.
  core = await startCore({
    home,
    args: ["--watch"],
    config: "[security]\nrate_limit_per_minute = 600000\nrate_limit_burst = 10000\n",
  });
  socket = (await core.openSession("g")).socket;
});

afterAll(async () => {
  await core?.stop();
});

function edit(from: string, to: string): void {
  const source = readFileSync(handlerPath, "utf8");
  expect(source).toContain(from);
  writeFileSync(handlerPath, source.replace(from, to));
}

describe("start --watch", () => {
  test("an edited handler answers differently, without a restart", async () => {
    expect(await textOf("live.run")).toBe("hi");
    edit("return { text };", 'return { text: text + " v2" };');
    await waitFor(async () => (await textOf("live.run")) === "hi v2", RELOAD_MS);
    expect(core.proc.exitCode).toBeNull();
    expect(core.output()).toContain('[PLUGINS] plugin "live" reloaded');
  });

  test("a broken edit keeps the old version serving, and the core prints why", async () => {
    edit('return { text: text + " v2" };', 'return { text: text + " v3" ;');
    await waitFor(() => core.output().includes('plugin "live" was not reloaded'), RELOAD_MS);
    expect(core.output()).toMatch(
      /plugin "live" was not reloaded: import_failed: .*handler\.ts could not be imported \(.*Expected/,
    );
    expect(core.output()).toContain("the previous version keeps serving");
    expect(await textOf("live.run")).toBe("hi v2");
    // The other plugin never stopped serving.
    expect((await core.ipc(socket, "tool_error.run", {})).json).toMatchObject({ message: "my message" });
  });

  test("fixing the edit brings the new version in; a manifest edit changes the tools", async () => {
    edit('return { text: text + " v3" ;', 'return { text: text + " v3" };');
    await waitFor(async () => (await textOf("live.run")) === "hi v3", RELOAD_MS);
    const manifestPath = join(core.home, "plugins/live/manifest.json");
    const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
    manifest.provides.tools[0].name = "live.say";
    writeFileSync(manifestPath, JSON.stringify(manifest));
    edit('case "live.run": {', 'case "live.say": {');
    // Two reloads in a row, each starting a fresh plugin process.
    await waitFor(async () => (await textOf("live.say")) === "hi v3", RELOAD_MS);
    expect((await core.ipc(socket, "live.run", { text: "hi" })).json).toMatchObject({ code: "UNKNOWN_TOOL" });
  });

  test("a plugin folder created while the core runs is loaded", async () => {
    expect((await carapace(core.home, ["plugin", "create", "later", "--yes"])).code).toBe(0);
    await waitFor(async () => (await textOf("later.run")) === "hi", RELOAD_MS);
  });
});

describe("--watch and folders others can write to", () => {
  test("a [plugins] dirs folder others can write to: start --watch refuses to start", async () => {
    const home = tempHome();
    const extra = join(home, "extra");
    mkdirSync(extra, { mode: 0o777 });
    chmodSync(extra, 0o777);
    writeFileSync(join(home, "config.toml"), `[plugins]\ndirs = ["${extra}"]\n`, { mode: 0o600 });
    const r = await carapace(home, ["start", "--watch"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("[PLUGINS] Error: --watch refuses to watch");
    expect(r.stderr).toContain("others can write to it");
  });

  test("a plugin folder others can write to is neither loaded nor reloaded, and the core says so", async () => {
    const home = tempHome();
    expect((await carapace(home, ["plugin", "create", "loose", "--yes"])).code).toBe(0);
    chmodSync(join(home, "plugins/loose"), 0o777);
    const watched = await startCore({ home, args: ["--watch"] });
    try {
      expect(watched.output()).toContain('--watch will not reload plugin "loose"');
      const { socket: s } = await watched.openSession("g");
      expect((await watched.ipc(s, "loose.run", { text: "x" })).json).toMatchObject({ code: "UNKNOWN_TOOL" });
    } finally {
      await watched.stop();
    }
  });
});
