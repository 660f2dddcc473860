import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCommand } from "citty";
import {
  configCommand,
  type Output,
  runConfigGet,
  runConfigList,
  runConfigPath,
  runConfigSet,
} from "../../src/cli/config.ts";
import { tempHome } from "../config/temp-home.ts";
import { ensureBinaries } from "../harness/binaries.ts";
import { startCore } from "../harness/core.ts";
import { runCommand as run } from "../harness/run.ts";

let t: ReturnType<typeof tempHome>;
let savedHome: string | undefined;
beforeEach(() => {
  t = tempHome();
  savedHome = process.env.CARAPACE_HOME;
});
afterEach(() => {
  if (savedHome === undefined) delete process.env.CARAPACE_HOME;
  else process.env.CARAPACE_HOME = savedHome;
  process.exitCode = 0;
  t.cleanup();
});

/** Runs `fn` with process.stdout/stderr captured instead of printed. */
async function silenced(fn: () => Promise<unknown>): Promise<{ stdout: string; stderr: string }> {
  const seen = { stdout: "", stderr: "" };
  const out = process.stdout.write;
  const err = process.stderr.write;
  process.stdout.write = ((chunk: string) => {
    seen.stdout += chunk;
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string) => {
    seen.stderr += chunk;
    return true;
  }) as typeof process.stderr.write;
  try {
    await fn();
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
  return seen;
}

function capture(): Output & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (l) => stdout.push(l), err: (l) => stderr.push(l) };
}

describe("carapace config", () => {
  test("path prints the config file", () => {
    const io = capture();
    expect(runConfigPath(t.home, io)).toBe(0);
    expect(io.stdout).toEqual([join(t.home, "config.toml")]);
  });

  test("set prints the new value and reports a created file; get prints it bare", () => {
    const io = capture();
    expect(runConfigSet(t.home, "runtime.image", "localhost/x:1", io)).toBe(0);
    expect(io.stdout).toEqual(['runtime.image = "localhost/x:1"']);
    expect(io.stderr).toEqual([`Created ${join(t.home, "config.toml")}.`]);
    const get = capture();
    expect(runConfigGet(t.home, "runtime.image", false, get)).toBe(0);
    expect(get.stdout).toEqual(["localhost/x:1"]);
    const json = capture();
    runConfigGet(t.home, "network.upstream_allowlist", true, json);
    expect(JSON.parse(json.stdout[0] ?? "")).toEqual({
      key: "network.upstream_allowlist",
      value: ["api.anthropic.com:443"],
      source: "default",
    });
  });

  test("an invalid value exits 2 with the error on stderr and no file", () => {
    const io = capture();
    expect(runConfigSet(t.home, "security.max_json_depth", "deep", io)).toBe(2);
    expect(io.stdout).toEqual([]);
    expect(io.stderr[0]).toStartWith('[CONFIG] Error: "security.max_json_depth" must be a whole number from 2 to 1024');
    expect(existsSync(join(t.home, "config.toml"))).toBe(false);
  });

  test("an unknown key exits 2 and lists the valid keys", () => {
    const io = capture();
    expect(runConfigGet(t.home, "logging.colour", false, io)).toBe(2);
    expect(io.stderr[0]).toContain('unknown key "logging.colour"; valid keys in [logging]: level, format');
  });

  test("an invalid config.toml exits 1 for get and list", () => {
    mkdirSync(t.home);
    writeFileSync(join(t.home, "config.toml"), "[logging]\nlevel = 3\n");
    const io = capture();
    expect(runConfigList(t.home, false, io)).toBe(1);
    expect(runConfigGet(t.home, "logging.level", false, io)).toBe(1);
    expect(io.stderr[0]).toContain('"logging.level" must be one of "debug", "info", "warn", "error", but is 3');
  });

  test("list marks (set), (default) and (inherited from [security])", () => {
    runConfigSet(t.home, "groups.work.policy", "reject", capture());
    const io = capture();
    expect(runConfigList(t.home, false, io)).toBe(0);
    expect(io.stdout.find((l) => l.startsWith("groups.work.policy"))).toMatch(/= "reject"\s+\(set\)$/);
    expect(io.stdout.find((l) => l.startsWith("hello.enabled"))).toMatch(/= true\s+\(default\)$/);
    expect(io.stdout.find((l) => l.startsWith("groups.work.rate_limit_burst"))).toMatch(
      /= 10\s+\(inherited from \[security\]\)$/,
    );
  });

  test("the citty command runs with CARAPACE_HOME and sets the exit code", async () => {
    process.env.CARAPACE_HOME = `${t.home}//`;
    const printed = await silenced(() =>
      runCommand(configCommand, { rawArgs: ["set", "security.rate_limit_burst", "4"] }),
    );
    expect(process.exitCode).toBe(0);
    expect(printed.stdout).toBe("security.rate_limit_burst = 4\n");
    expect(readFileSync(join(t.home, "config.toml"), "utf8")).toBe("[security]\nrate_limit_burst = 4\n");
    const refused = await silenced(() => runCommand(configCommand, { rawArgs: ["set", "hello.enabled", "perhaps"] }));
    expect(process.exitCode).toBe(2);
    expect(refused.stderr).toStartWith('[CONFIG] Error: "hello.enabled" must be true or false');
    expect(readFileSync(join(t.home, "config.toml"), "utf8")).toBe("[security]\nrate_limit_burst = 4\n");
  });
});

describe("config set through the compiled binary", () => {
  const bin = () => ensureBinaries().carapace;
  const env = (home: string) => ({ PATH: "/usr/bin:/bin", HOME: home, CARAPACE_HOME: home, TMPDIR: "/tmp" });

  test("an upstream outside the allowlist is refused and config.toml is not touched", async () => {
    const r = await run([bin(), "config", "set", "network.upstream_url", "http://evil.example:8080"], {
      env: env(t.home),
    });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(
      '[CONFIG] Error: the upstream evil.example:8080 is not in [network] upstream_allowlist (api.anthropic.com:443); config.toml was not changed. Fix: add "evil.example:8080" to [network] upstream_allowlist or change [network] upstream_url.',
    );
    expect(existsSync(join(t.home, "config.toml"))).toBe(false);
    const narrowed = await run([bin(), "config", "set", "network.upstream_allowlist", '["127.0.0.1:9"]'], {
      env: env(t.home),
    });
    expect(narrowed.code).toBe(2);
    const both = await run(
      [bin(), "config", "set", "network.upstream_allowlist", '["api.anthropic.com:443","127.0.0.1:9"]'],
      { env: env(t.home) },
    );
    expect(both.code).toBe(0);
    expect(
      (await run([bin(), "config", "set", "network.upstream_url", "http://127.0.0.1:9"], { env: env(t.home) })).code,
    ).toBe(0);
  });

  test("on a running core set says the change applies after a restart", async () => {
    const core = await startCore();
    try {
      const r = await run([bin(), "config", "set", "hello.enabled", "false", "--json"], { env: core.env });
      expect(r.code).toBe(0);
      const pid = (core.proc as { pid: number }).pid;
      expect(JSON.parse(r.stdout)).toMatchObject({
        key: "hello.enabled",
        value: false,
        applies: "after a restart",
        core_pid: pid,
      });
      expect(r.stderr).toContain(`The running core (pid ${pid}) keeps the old value until it restarts`);
    } finally {
      await core.stop();
    }
    const after = await run([bin(), "config", "set", "hello.enabled", "true"], { env: core.env });
    expect(after.stderr).toBe("");
  });
});
