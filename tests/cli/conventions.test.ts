import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { colourEnabled, jsonLogLine, logFormat, stripAnsi } from "../../src/cli/output.ts";
import { ensureBinaries } from "../harness/binaries.ts";
import { startCore, tempHome } from "../harness/core.ts";
import { runCommand } from "../harness/run.ts";

const ESC = "\u001B";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function carapace(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const { carapace: bin } = ensureBinaries();
  const home = tempHome();
  return runCommand([bin, ...args], {
    env: { PATH: "/usr/bin:/bin", HOME: home, CARAPACE_HOME: home, TMPDIR: "/tmp", ...env },
  });
}

/** Runs a shell command line on a pseudo-terminal (script(1)), so the binary sees a TTY. */
async function onTerminal(commandLine: string, env: Record<string, string>): Promise<string> {
  const p = Bun.spawn(["script", "-qec", commandLine, "/dev/null"], {
    env: { PATH: "/usr/bin:/bin", TMPDIR: "/tmp", TERM: "xterm-256color", ...env },
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out] = await Promise.all([new Response(p.stdout).text(), p.exited]);
  return out;
}

const hasScript = Bun.spawnSync(["sh", "-c", "command -v script"]).exitCode === 0;

/** The subcommand names listed under COMMANDS in a help text. */
function listedCommands(help: string): string[] {
  const section = help.split(/^COMMANDS$/m)[1]?.split(/^Use /m)[0] ?? "";
  return section
    .split("\n")
    .map((line) => /^\s+([a-z][a-z-]*)\s{2,}/.exec(line)?.[1])
    .filter((name): name is string => name !== undefined);
}

describe("--help and --version", () => {
  test("every command and subcommand prints help with exit 0 and documents its exit codes", async () => {
    const seen: string[] = [];
    const missing: string[] = [];
    const walk = async (path: string[]): Promise<void> => {
      const r = await carapace([...path, "--help"], { NO_COLOR: "1" });
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("USAGE");
      seen.push(path.join(" "));
      if (!r.stdout.includes("Exit codes")) missing.push(path.join(" ") || "(root)");
      for (const sub of listedCommands(r.stdout)) await walk([...path, sub]);
    };
    await walk([]);
    expect(missing).toEqual([]);
    for (const expected of ["setup", "uninstall", "start", "doctor", "config set", "image build"])
      expect(seen).toContain(expected);
  }, 120_000);

  test("--version prints the release", async () => {
    const r = await carapace(["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });
});

describe("usage errors", () => {
  test("an unknown command exits 2 with the usage and the standard error line", async () => {
    const r = await carapace(["frobnicate"], { NO_COLOR: "1" });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("USAGE");
    expect(r.stderr).toContain("[CLI] Error: Unknown command frobnicate. Fix: run `carapace --help`");
    expect(r.stdout).toBe("");
  });

  test("an unknown subcommand names the command whose help to read", async () => {
    const r = await carapace(["config", "frobnicate"], { NO_COLOR: "1" });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("[CLI] Error: Unknown command frobnicate. Fix: run `carapace config --help`");
  });

  test("a missing required argument and an invalid choice are usage errors too", async () => {
    const missing = await carapace(["session", "close"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/\[CLI\] Error: Missing required positional argument: ID\. Fix: /);
    const badChoice = await carapace(["setup", "--engine", "lxc"]);
    expect(badChoice.code).toBe(2);
    expect(badChoice.stderr).toContain("[CLI] Error: Invalid value for argument: --engine (lxc)");
  });

  test("operational errors keep the [COMPONENT] Error: … Fix: … form and their own exit code", async () => {
    const r = await carapace(["session", "open"]);
    expect(r.code).toBe(3);
    expect(r.stderr.trim()).toBe("[CORE] Error: the core is not running. Fix: start it with `carapace start`.");
  });
});

describe("colour", () => {
  test("output to a pipe has no escape sequences even without NO_COLOR", async () => {
    for (const args of [["--help"], ["config", "--help"], ["frobnicate"], ["doctor"], ["config", "list"]]) {
      const r = await carapace(args);
      expect(r.stdout + r.stderr).not.toContain(ESC);
    }
  });

  test.skipIf(!hasScript)("a terminal gets colour, and NO_COLOR (any value) takes it away", async () => {
    const { carapace: bin } = ensureBinaries();
    const coloured = await onTerminal(`${bin} --help`, {});
    expect(coloured).toContain(ESC);
    const plain = await onTerminal(`${bin} --help; ${bin} frobnicate`, { NO_COLOR: "true" });
    expect(plain).toContain("USAGE");
    expect(plain).toContain("[CLI] Error: Unknown command");
    expect(plain).not.toContain(ESC);
  });

  test.skipIf(!hasScript)(
    "`start` on a NO_COLOR terminal logs plain lines",
    async () => {
      const { carapace: bin } = ensureBinaries();
      const home = tempHome();
      const env = { HOME: home, CARAPACE_HOME: home, NO_COLOR: "1", SKIP_IMAGE_BUILD: "1" };
      const started = onTerminal(`${bin} start`, env);
      const stop = Bun.spawn(
        [
          "sh",
          "-c",
          `for i in $(seq 100); do ${bin} status >/dev/null 2>&1 && exec ${bin} stop >/dev/null; sleep 0.1; done; exit 1`,
        ],
        { env: { PATH: "/usr/bin:/bin", ...env } },
      );
      const [out, stopCode] = await Promise.all([started, stop.exited]);
      expect(stopCode).toBe(0);
      expect(out).toContain("Carapace core running");
      expect(out).not.toContain(ESC);
      expect(out).not.toContain('{"level"');
    },
    30_000,
  );
});

describe("logging", () => {
  test("`start` under a pipe writes JSON lines with level, time and msg", async () => {
    const core = await startCore();
    await core.stop();
    const lines = core
      .output()
      .split("\n")
      .filter((l) => l.trim() !== "");
    expect(lines.length).toBeGreaterThan(0);
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const r of records) {
      expect(["debug", "info", "warn", "error"]).toContain(r.level as string);
      expect(Number.isNaN(Date.parse(String(r.time)))).toBe(false);
      expect(typeof r.msg).toBe("string");
    }
    expect(records.some((r) => r.level === "info" && String(r.msg).startsWith("Carapace core running"))).toBe(true);
    expect(records.some((r) => r.msg === "Carapace core stopped.")).toBe(true);
  });

  test("[logging] level = warn drops the info lines; format = pretty under a pipe gives plain text", async () => {
    const quiet = await startCore({ config: '[logging]\nlevel = "warn"\n' });
    await quiet.stop();
    expect(quiet.output()).not.toContain("Carapace core running");

    const pretty = await startCore({ config: '[logging]\nformat = "pretty"\n' });
    await pretty.stop();
    expect(pretty.output()).toContain("Carapace core running");
    expect(pretty.output()).not.toContain('{"level"');
    expect(pretty.output()).not.toContain(ESC);
  });

  test("an invalid [logging] value is refused with the valid choices", async () => {
    const home = tempHome();
    writeFileSync(join(home, "config.toml"), '[logging]\nformat = "xml"\n');
    const { carapace: bin } = ensureBinaries();
    const p = Bun.spawn([bin, "start"], {
      env: { PATH: "/usr/bin:/bin", HOME: home, CARAPACE_HOME: home, TMPDIR: "/tmp" },
      stdout: "pipe",
      stderr: "pipe",
    });
    const [stderr, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
    expect(code).toBe(1);
    expect(stderr).toMatch(/^\[CONFIG\] Error: .*logging\.format.*Fix: /);
    expect(stderr).toContain("json");
  });
});

describe("output helpers", () => {
  test("colour needs a terminal, no NO_COLOR and a TERM that is not dumb", () => {
    expect(colourEnabled({ isTTY: true }, {})).toBe(true);
    expect(colourEnabled({ isTTY: false }, {})).toBe(false);
    expect(colourEnabled({ isTTY: true }, { NO_COLOR: "1" })).toBe(false);
    expect(colourEnabled({ isTTY: true }, { NO_COLOR: "anything" })).toBe(false);
    expect(colourEnabled({ isTTY: true }, { NO_COLOR: "" })).toBe(true);
    expect(colourEnabled({ isTTY: true }, { TERM: "dumb" })).toBe(false);
  });

  test("format auto is pretty on a terminal and JSON elsewhere; explicit formats win", () => {
    expect(logFormat("auto", { isTTY: true })).toBe("pretty");
    expect(logFormat("auto", { isTTY: false })).toBe("json");
    expect(logFormat("json", { isTTY: true })).toBe("json");
    expect(logFormat("pretty", { isTTY: false })).toBe("pretty");
  });

  test("a JSON log line carries the level name, ISO time, the plain message and its component", () => {
    const date = new Date("2026-01-02T03:04:05.000Z");
    expect(jsonLogLine({ type: "warn", date, args: ["[IMAGE] \u001B[33mstale\u001B[39m"], tag: "" })).toEqual({
      level: "warn",
      time: "2026-01-02T03:04:05.000Z",
      msg: "[IMAGE] stale",
      component: "IMAGE",
    });
    expect(jsonLogLine({ type: "success", date, args: ["done", 3], tag: "" })).toEqual({
      level: "info",
      time: "2026-01-02T03:04:05.000Z",
      msg: "done 3",
    });
    expect(jsonLogLine({ type: "fail", date, args: [new Error("boom")], tag: "" }).level).toBe("error");
  });

  test("stripAnsi removes colour and hyperlink sequences only", () => {
    expect(stripAnsi("\u001B[1m\u001B[36mbold\u001B[39m\u001B[22m plain")).toBe("bold plain");
    expect(stripAnsi("\u001B]8;;https://x\u0007link\u001B]8;;\u0007")).toBe("link");
  });
});
