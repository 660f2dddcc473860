/**
 * The compiled ipc runs its own code and nothing else, whatever its working directory, environment and
 * argv say. Each case plants a script that would write a marker file and asserts the marker never appears.
 * The bare binary is tested for what the build switches off (bunfig.toml, .env) and what ipc refuses itself;
 * the image's front script (container/ipc-front.sh) for the variables Bun acts on before ipc's code runs.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureBinaries, ROOT } from "../harness/binaries.ts";
import { type CommandResult, runCommand } from "../harness/run.ts";

let dir = "";
let marker = "";
let evil = "";
let front = "";
let ipc = "";

beforeAll(() => {
  ipc = ensureBinaries().ipc;
  dir = mkdtempSync(join(tmpdir(), "ipc-lockdown-"));
  marker = join(dir, "pwned");
  evil = join(dir, "evil.js");
  writeFileSync(
    evil,
    `require("node:fs").appendFileSync(${JSON.stringify(marker)}, process.argv.join(" ") + "\\n");\n`,
  );
  // The image's front, pointed at this build's binary instead of /usr/local/lib/carapace/ipc.
  const script = readFileSync(join(ROOT, "container/ipc-front.sh"), "utf8");
  expect(script).toContain("exec /usr/local/lib/carapace/ipc ");
  front = join(dir, "ipc-front");
  writeFileSync(front, script.replace("exec /usr/local/lib/carapace/ipc ", `exec ${ipc} `));
  chmodSync(front, 0o755);
});
beforeEach(() => rmSync(marker, { force: true }));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const BASE = { PATH: "/usr/bin:/bin", HOME: "/tmp", NO_COLOR: "1" };
const run = (program: string, argv: string[], env: Record<string, string> = {}, cwd = dir): Promise<CommandResult> =>
  runCommand([program, ...argv], { env: { ...BASE, ...env }, cwd });

function expectNoMarker(): void {
  expect(existsSync(marker) ? readFileSync(marker, "utf8") : "no marker").toBe("no marker");
}

describe("what the build switches off", () => {
  test("a bunfig.toml in the working directory is not read (its preload would run a script)", async () => {
    const cwd = mkdtempSync(join(dir, "bunfig-"));
    writeFileSync(join(cwd, "bunfig.toml"), `preload = [${JSON.stringify(evil)}]\n`);
    const r = await run(ipc, ["--version"], {}, cwd);
    expect(r.code).toBe(0);
    expect(r.stdout).toStartWith("ipc ");
    expectNoMarker();
  });

  test("a .env in the working directory is not loaded (it would choose the socket and the library)", async () => {
    const cwd = mkdtempSync(join(dir, "dotenv-"));
    writeFileSync(join(cwd, ".env"), `CARAPACE_SOCKET=${join(cwd, "planted.sock")}\nCARAPACE_LIBZMQ=${evil}\n`);
    const r = await run(ipc, ["kit.echo", "{}"], {}, cwd);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("[IPC] Error: CARAPACE_SOCKET is not set.");
  });
});

describe("what ipc refuses itself", () => {
  test.each([
    ["BUN_OPTIONS", "--smol"],
    ["BUN_BE_BUN", "0"],
    ["NODE_OPTIONS", "--require ./evil.js"],
    ["BUN_INSPECT", "ws://127.0.0.1:1/x"],
    ["LD_LIBRARY_PATH", "/workspace"],
  ])("%s=%s is refused with exit 2 before anything is sent", async (name, value) => {
    const r = await run(ipc, ["kit.echo", "{}"], { [name]: value, CARAPACE_SOCKET: join(dir, "host.sock") });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`[IPC] Error: ${name} is set and it would make ipc run code other than its own.`);
    expect(r.stderr).toContain(`Fix: unset ${name}.`);
    expectNoMarker();
  });

  test("CARAPACE_LIBZMQ naming a file the caller could have planted is refused, never loaded", async () => {
    const planted = join(dir, "libzmq.so");
    writeFileSync(planted, "not a library");
    chmodSync(planted, 0o666);
    const r = await run(ipc, ["kit.echo", "{}"], { CARAPACE_LIBZMQ: planted, CARAPACE_SOCKET: join(dir, "x.sock") });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("[IPC] Error: CARAPACE_LIBZMQ is set and");
    expect(r.stderr).toContain("is not a root-owned file");
  });

  test("argv is ipc's own: runtime flags and script paths are not Bun's to act on", async () => {
    const attempts = [
      [evil],
      ["run", evil],
      ["--preload", evil, "kit.echo"],
      ["-r", evil, "kit.echo"],
      ["--eval", `require("node:fs").writeFileSync(${JSON.stringify(marker)}, "x")`],
      ["-e", `require("node:fs").writeFileSync(${JSON.stringify(marker)}, "x")`],
      ["kit.echo", "{}", "--preload", evil],
      ["--bun", evil],
      ["x", evil],
      ["exec", evil],
    ];
    for (const argv of attempts) {
      const r = await run(ipc, argv);
      expect([2, 3]).toContain(r.code);
    }
    expectNoMarker();
  });
});

describe("the image's front script", () => {
  test("the bare binary shows why it exists: Bun acts on BUN_BE_BUN before any of ipc's code", async () => {
    const probe = join(dir, "probe-marker");
    const script = join(dir, "probe.js");
    writeFileSync(script, `require("node:fs").writeFileSync(${JSON.stringify(probe)}, "bun ran it");\n`);
    await run(ipc, [script], { BUN_BE_BUN: "1" });
    expect(existsSync(probe)).toBe(true);
  });

  test("BUN_BE_BUN=1 with a script runs ipc, not the script", async () => {
    const r = await run(front, [evil], { BUN_BE_BUN: "1" });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("CARAPACE_SOCKET is not set");
    expectNoMarker();
  });

  test("BUN_OPTIONS=--preload runs no preload", async () => {
    const r = await run(front, ["--version"], { BUN_OPTIONS: `--preload ${evil}` });
    expect(r.code).toBe(0);
    expect(r.stdout).toStartWith("ipc ");
    expectNoMarker();
  });

  test("every BUN_*, NODE_* and LD_* variable is gone, the others stay", async () => {
    const env = { BUN_BE_BUN: "1", BUN_OPTIONS: `--preload ${evil}`, NODE_OPTIONS: "x", LD_AUDIT: "x" };
    const r = await run(front, ["kit.echo", "{}"], { ...env, CARAPACE_SOCKET: join(dir, "kept.sock") });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`no session socket at ${join(dir, "kept.sock")}`);
    expectNoMarker();
  });

  test("a value that smuggles lines or globs into the variable list removes nothing it should keep", async () => {
    const sneaky = `x'\nexport BUN_A CARAPACE_SOCKET=x\nexport BUN_* \n`;
    const r = await run(front, [evil], {
      BUN_NOTE: sneaky,
      BUN_BE_BUN: "1",
      CARAPACE_SOCKET: join(dir, "kept.sock"),
    });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`no session socket at ${join(dir, "kept.sock")}`);
    expectNoMarker();
  });
});
