/** `carapace service` and `carapace logs` through the compiled binary; nothing is enabled on this machine. */
import { describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseSince } from "../../src/cli/logs.ts";
import { launchdPlist, serviceTarget, systemdUnit } from "../../src/cli/service/units.ts";
import { LOG_FILES, logPath, RotatingLog } from "../../src/core/log-file.ts";
import { CORE_ALLOCATOR_ENV } from "../../src/platform/allocator-env.ts";
import { ensureBinaries } from "../harness/binaries.ts";
import { startCore, tempHome } from "../harness/core.ts";
import { launchdProblems, plistLint } from "../harness/plist-lint.ts";

/** A temp HOME and config dir, and a systemctl that records its command lines instead of running. */
function sandbox(extra: Record<string, string> = {}) {
  const root = mkdtempSync("/tmp/carapace-service-");
  const calls = join(root, "calls");
  const recorder = join(root, "systemctl");
  writeFileSync(recorder, `#!/bin/sh\necho "$*" >> '${calls}'\n`);
  chmodSync(recorder, 0o755);
  const env = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: join(root, "home"),
    XDG_CONFIG_HOME: join(root, "xdg"),
    CARAPACE_HOME: join(root, "carapace-home"),
    CARAPACE_SYSTEMCTL: recorder,
    CARAPACE_LAUNCHCTL: recorder,
    CARAPACE_SYSTEMD_SYSTEM_DIR: join(root, "etc-systemd-system"),
    ...extra,
  };
  const run = async (args: string[]) => {
    const proc = Bun.spawn([ensureBinaries().carapace, ...args], { env, stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ]);
    return { stdout, stderr, code };
  };
  const recorded = () => (existsSync(calls) ? readFileSync(calls, "utf8").trim().split("\n") : []);
  return { root, env, run, recorded };
}

describe("carapace service", () => {
  test("install writes a unit systemd-analyze accepts and enables it; uninstall disables it and leaves nothing behind", async () => {
    const box = sandbox();
    const installed = await box.run(["service", "install", "--json"]);
    expect(installed.stderr).toBe("");
    expect(installed.code).toBe(0);
    const { installed: path, kind } = JSON.parse(installed.stdout) as { installed: string; kind: string };
    const root = process.getuid?.() === 0;
    expect(kind).toBe(root ? "systemd-system" : "systemd-user");
    expect(path.startsWith(`${box.root}/`)).toBe(true);
    const unit = readFileSync(path, "utf8");
    expect(unit).toContain(`ExecStart=${ensureBinaries().carapace} start`);
    expect(unit).toContain(`Environment=CARAPACE_HOME=${box.env.CARAPACE_HOME}`);
    // The allocator's options, read as the process starts: the unit gives them, so the core need not re-exec.
    for (const [name, value] of Object.entries(CORE_ALLOCATOR_ENV))
      expect(unit).toContain(`Environment=${name}=${value}\n`);
    expect(unit).toMatch(/^Restart=on-failure$/m);
    expect(unit).toMatch(/^StartLimitIntervalSec=\d+$/m);
    expect(unit).toMatch(/^StartLimitBurst=\d+$/m);
    const verify = Bun.spawnSync(["systemd-analyze", ...(root ? [] : ["--user"]), "verify", path], {
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(verify.stderr.toString()).toBe("");
    expect(verify.exitCode).toBe(0);
    const systemctl = root ? "" : "--user ";
    expect(box.recorded()).toEqual([`${systemctl}daemon-reload`, `${systemctl}enable --now carapace.service`]);

    const status = await box.run(["service", "status", "--json"]);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ installed: true, running: true, path });
    expect(box.recorded().at(-1)).toBe(`${systemctl}status --no-pager carapace.service`);

    const removed = await box.run(["service", "uninstall", "--json"]);
    expect(removed.code).toBe(0);
    expect(JSON.parse(removed.stdout)).toEqual({ removed: path });
    expect(box.recorded().slice(-2)).toEqual([
      `${systemctl}disable --now carapace.service`,
      `${systemctl}daemon-reload`,
    ]);
    expect(existsSync(path)).toBe(false);
    expect(existsSync(box.env.XDG_CONFIG_HOME)).toBe(false);
    expect(readdirSync(box.env.CARAPACE_SYSTEMD_SYSTEM_DIR)).toEqual([]);

    const after = await box.run(["service", "status", "--json"]);
    expect(after.code).toBe(1);
    expect(JSON.parse(after.stdout)).toMatchObject({ installed: false, running: false });
  }, 60_000);

  test("a failing service manager is reported with its output and exit code", async () => {
    const box = sandbox();
    writeFileSync(box.env.CARAPACE_SYSTEMCTL, "#!/bin/sh\necho 'Failed to connect to bus' >&2\nexit 1\n");
    const r = await box.run(["service", "install"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^\[SERVICE\] Error: `.*daemon-reload` failed \(exit 1\): Failed to connect to bus\. Fix: /m,
    );
  });

  test("the user unit lives under XDG_CONFIG_HOME, a root's under the system directory, macOS gets a LaunchAgent", () => {
    expect(serviceTarget({ HOME: "/h", XDG_CONFIG_HOME: "/x" }, "linux", 1000)).toEqual({
      kind: "systemd-user",
      path: "/x/systemd/user/carapace.service",
    });
    expect(serviceTarget({ HOME: "/h" }, "linux", 1000).path).toBe("/h/.config/systemd/user/carapace.service");
    expect(serviceTarget({ HOME: "/h" }, "linux", 0).path).toBe("/etc/systemd/system/carapace.service");
    expect(serviceTarget({ HOME: "/h" }, "darwin", 501)).toEqual({
      kind: "launchd",
      path: "/h/Library/LaunchAgents/dev.carapace.core.plist",
    });
  });

  test("a user unit with a home path that needs quoting still passes systemd-analyze", () => {
    const dir = mkdtempSync("/tmp/carapace-unit-");
    const path = join(dir, "carapace.service");
    writeFileSync(
      path,
      systemdUnit({ binary: ensureBinaries().carapace, carapaceHome: "/tmp/a b/100%", system: false }),
    );
    const verify = Bun.spawnSync(["systemd-analyze", "verify", path], { stdout: "pipe", stderr: "pipe" });
    expect(verify.stderr.toString()).toBe("");
    expect(verify.exitCode).toBe(0);
    expect(readFileSync(path, "utf8")).toContain('Environment="CARAPACE_HOME=/tmp/a b/100%%"');
  });

  test("the launchd agent passes a plutil -lint equivalent and launchd's key types: runs at load, restarts on failure, throttled", () => {
    const dir = mkdtempSync("/tmp/carapace-plist-");
    const path = join(dir, "dev.carapace.core.plist");
    writeFileSync(path, launchdPlist({ binary: "/opt/carapace <&> bin", carapaceHome: "/Users/me/.carapace" }));
    const lint = plistLint(path);
    expect(lint.problems).toEqual([]);
    expect(launchdProblems(lint.value, "dev.carapace.core.plist")).toEqual([]);
    expect(lint.value).toEqual({
      Label: "dev.carapace.core",
      ProgramArguments: ["/opt/carapace <&> bin", "start"],
      EnvironmentVariables: { CARAPACE_HOME: "/Users/me/.carapace", ...CORE_ALLOCATOR_ENV },
      RunAtLoad: true,
      KeepAlive: { SuccessfulExit: false },
      ThrottleInterval: 60,
    });
  });

  test("the plist check refuses what plutil or launchd would: bad XML, a stray element, a wrong type, an unknown key", () => {
    const dir = mkdtempSync("/tmp/carapace-plist-");
    const good = launchdPlist({ binary: "/bin/carapace", carapaceHome: "/h" });
    const lintOf = (text: string) => {
      const path = join(dir, "dev.carapace.core.plist");
      writeFileSync(path, text);
      const lint = plistLint(path);
      return [
        ...lint.problems,
        ...(lint.problems.length ? [] : launchdProblems(lint.value, "dev.carapace.core.plist")),
      ];
    };
    expect(lintOf(good)).toEqual([]);
    expect(lintOf(good.replace("</dict>\n</plist>", "</plist>"))[0]).toStartWith("not well-formed XML");
    expect(lintOf(good.replace("<true/>", "<yes/>"))).toEqual(["plist.RunAtLoad: <yes> is not a plist value"]);
    expect(lintOf(good.replace("<true/>", "<string>true</string>"))).toEqual(["RunAtLoad must be boolean"]);
    expect(lintOf(good.replace(/<integer>\d+<\/integer>/, "<integer>6.5</integer>"))).toEqual([
      "plist.ThrottleInterval: '6.5' is not an integer",
    ]);
    expect(lintOf(good.replace("<key>RunAtLoad</key>", "<key>RunAtBoot</key>"))).toEqual([
      "unknown launchd key RunAtBoot",
    ]);
    expect(lintOf(good.replace("<!DOCTYPE", "<!-- ").replace('.dtd">', '.dtd" -->'))[0]).toStartWith(
      "missing or wrong plist DOCTYPE",
    );
  });

  test("on macOS, install writes the LaunchAgent and loads it; uninstall unloads it and leaves nothing behind", async () => {
    const box = sandbox({ CARAPACE_SERVICE_KIND: "launchd" });
    const installed = await box.run(["service", "install", "--json"]);
    expect(installed.code).toBe(0);
    const { installed: path, kind } = JSON.parse(installed.stdout) as { installed: string; kind: string };
    expect(kind).toBe("launchd");
    expect(path).toBe(join(box.env.HOME, "Library/LaunchAgents/dev.carapace.core.plist"));
    const lint = plistLint(path);
    expect(lint.problems).toEqual([]);
    expect(launchdProblems(lint.value, "dev.carapace.core.plist")).toEqual([]);
    expect(lint.value).toMatchObject({
      ProgramArguments: [ensureBinaries().carapace, "start"],
      EnvironmentVariables: { CARAPACE_HOME: box.env.CARAPACE_HOME, ...CORE_ALLOCATOR_ENV },
    });
    expect(box.recorded()).toEqual([`load -w ${path}`]);
    expect((await box.run(["service", "status", "--json"])).code).toBe(0);
    expect(box.recorded().at(-1)).toBe("list dev.carapace.core");
    const removed = await box.run(["service", "uninstall", "--json"]);
    expect(removed.code).toBe(0);
    expect(box.recorded().at(-1)).toBe(`unload -w ${path}`);
    expect(readdirSync(box.env.HOME)).toEqual([]);
  }, 60_000);
});

describe("the core's log file", () => {
  test("rotation keeps the log bounded: at most the configured number of files, each near its size", () => {
    const home = tempHome();
    const log = new RotatingLog(home, 1000, LOG_FILES);
    for (let i = 0; i < 500; i++) log.write(`line ${i} ${"x".repeat(40)}\n`);
    const files = readdirSync(join(home, "logs")).sort();
    expect(files).toEqual(["core.log", ...Array.from({ length: LOG_FILES - 1 }, (_, i) => `core.log.${i + 1}`)]);
    for (const f of files) expect(readFileSync(join(home, "logs", f)).length).toBeLessThanOrEqual(1000);
    expect(readFileSync(logPath(home), "utf8")).toContain("line 499");
  });

  test("lines are stamped and stripped of terminal escapes", () => {
    const home = tempHome();
    new RotatingLog(home).write("a\u001b[31mred\u001b[0m\nb\n", new Date("2026-03-01T10:00:00Z"));
    expect(readFileSync(logPath(home), "utf8")).toBe("2026-03-01T10:00:00.000Z ared\n2026-03-01T10:00:00.000Z b\n");
  });

  test("--since takes a duration or a time; anything else is a usage error", () => {
    expect(parseSince("10m", 1_000_000)).toBe(1_000_000 - 600_000);
    expect(parseSince("2026-01-31T08:00:00Z")).toBe(Date.parse("2026-01-31T08:00:00Z"));
    expect(() => parseSince("yesterday-ish")).toThrow(/--since is neither/);
  });

  test("a running core writes logs/core.log; `carapace logs --since` shows it, oldest first, filtered by time", async () => {
    const home = tempHome();
    const log = new RotatingLog(home);
    log.write("old line\n", new Date("2020-01-01T00:00:00Z"));
    const core = await startCore({ home });
    try {
      await core.carapace(["stop"]);
    } finally {
      await core.stop();
    }
    const text = readFileSync(logPath(home), "utf8");
    expect(text.split("\n").length).toBeGreaterThan(2);
    const all = await core.carapace(["logs"]);
    expect(all.code).toBe(0);
    expect(all.stdout.startsWith("2020-01-01T00:00:00.000Z old line\n")).toBe(true);
    expect(all.stdout.length).toBeGreaterThan("2020-01-01T00:00:00.000Z old line\n".length);
    const recent = await core.carapace(["logs", "--since", "1d"]);
    expect(recent.code).toBe(0);
    expect(recent.stdout).not.toContain("old line");
    expect(recent.stdout).toBe(all.stdout.slice("2020-01-01T00:00:00.000Z old line\n".length));
  }, 60_000);

  test("`carapace logs` without a log says so", async () => {
    const proc = Bun.spawn([ensureBinaries().carapace, "logs"], {
      env: { PATH: process.env.PATH ?? "", CARAPACE_HOME: tempHome() },
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(await proc.exited).toBe(1);
    expect(await new Response(proc.stderr).text()).toMatch(/^\[LOGS\] Error: no log at .*core\.log yet\. Fix: /);
  });
});
