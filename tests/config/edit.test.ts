import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { EXIT } from "../../src/cli/errors.ts";
import { ConfigError } from "../../src/config/config-error.ts";
import { getConfig, listConfig, resolveKey, setConfigValue } from "../../src/config/edit.ts";
import { loadConfig } from "../../src/config/load.ts";
import { tempHome } from "./temp-home.ts";

let t: ReturnType<typeof tempHome>;
let file: string;
beforeEach(() => {
  t = tempHome();
  file = join(t.home, "config.toml");
});
afterEach(() => t.cleanup());

function thrown(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("config set then get round-trips every key type", () => {
  const cases: [string, string, unknown][] = [
    ["runtime.image", "localhost/agent:test", "localhost/agent:test"],
    ["security.rate_limit_per_minute", "120", 120],
    ["hello.enabled", "false", false],
    ["runtime.allow_rootless_unlimited", "TRUE", true],
    [
      "network.upstream_allowlist",
      '["api.anthropic.com:443","127.0.0.1:8080"]',
      ["api.anthropic.com:443", "127.0.0.1:8080"],
    ],
    ["plugins.disabled", "[]", []],
    ["logging.level", "debug", "debug"],
    ["groups.work.policy", "concurrent", "concurrent"],
    ["groups.work.rate_limit_burst", "7", 7],
  ];
  for (const [key, raw, value] of cases) {
    test(`${key} = ${raw}`, () => {
      const result = setConfigValue(t.home, key, raw);
      expect(result.value).toEqual(value as never);
      expect(getConfig(t.home, key)).toEqual([{ key, value: value as never, source: "user" }]);
      expect(statSync(file).mode & 0o777).toBe(0o600);
    });
  }

  test("several keys accumulate in one file that loadConfig reads back", () => {
    for (const [key, raw] of cases) setConfigValue(t.home, key, raw);
    const config = loadConfig(t.home);
    expect(config.security.rate_limit_per_minute).toBe(120);
    expect(config.groups.work).toEqual({ policy: "concurrent", rate_limit_burst: 7 });
    expect(config.network.upstream_allowlist).toEqual(["api.anthropic.com:443", "127.0.0.1:8080"]);
  });
});

describe("config set", () => {
  test("creates the home and the file when missing", () => {
    expect(existsSync(t.home)).toBe(false);
    const result = setConfigValue(t.home, "logging.format", "json");
    expect(result.created).toBe(true);
    expect(readFileSync(file, "utf8")).toBe('[logging]\nformat = "json"\n');
    expect(statSync(join(t.home, "credentials")).mode & 0o777).toBe(0o700);
  });

  test("an invalid value is refused and the file is left byte for byte", () => {
    mkdirSync(t.home);
    const original = "# keep me\n[security]\nrate_limit_burst = 4\n";
    writeFileSync(file, original, { mode: 0o600 });
    const before = statSync(file).mtimeMs;
    const invalid: [string, string, RegExp][] = [
      ["security.rate_limit_burst", "many", /must be a whole number from 1 to 1000000, but "many" was given/],
      ["security.rate_limit_burst", "0", /must be a whole number from 1 to 1000000, but is 0/],
      ["security.rate_limit_burst", "1.5", /whole number/],
      ["hello.enabled", "yes", /must be true or false/],
      ["runtime.engine", "lxc", /one of "auto", "podman", "docker", "apple", but is "lxc"/],
      ["network.upstream_allowlist", "api.anthropic.com:443", /array of at most 64 strings/],
      ["network.upstream_allowlist", "[1, 2]", /array of at most 64 strings/],
      ["network.upstream_allowlist", '["no port"]', /host:port/],
      ["groups.work.policy", "fifo", /"queue", "reject", "concurrent"/],
    ];
    for (const [key, raw, message] of invalid) {
      const error = thrown(() => setConfigValue(t.home, key, raw));
      expect(error.message).toMatch(message);
      expect(error.message).toContain("config.toml was not changed");
      expect(error.exitCode).toBe(EXIT.usage);
    }
    expect(readFileSync(file, "utf8")).toBe(original);
    expect(statSync(file).mtimeMs).toBe(before);
  });

  test("an unknown key lists the valid keys at its level", () => {
    const section = thrown(() => setConfigValue(t.home, "security.rate_limt", "1"));
    expect(section.message).toContain("valid keys in [security]: max_frame_bytes");
    expect(section.exitCode).toBe(EXIT.usage);
    expect(thrown(() => setConfigValue(t.home, "sekurity.x", "1")).message).toContain(
      "valid keys at the top level: runtime, plugins, security, network, hello, logging, budget, memory, conversation, groups.<name>",
    );
    expect(thrown(() => setConfigValue(t.home, "groups.work.burst", "1")).message).toContain(
      "valid keys in [groups.work]: rate_limit_per_minute, rate_limit_burst, max_sessions_per_group, daily_tokens, daily_requests, history_turns, history_bytes, policy",
    );
    expect(thrown(() => setConfigValue(t.home, "groups.Work.policy", "queue")).message).toContain(
      "1-32 characters from lowercase a-z",
    );
    expect(thrown(() => resolveKey("security")).message).toContain("valid keys in [security]");
    expect(existsSync(file)).toBe(false);
  });

  test("a broken file is reported, not overwritten", () => {
    mkdirSync(t.home);
    writeFileSync(file, "[hello\n");
    expect(thrown(() => setConfigValue(t.home, "hello.enabled", "false")).message).toContain("is not valid TOML");
    expect(readFileSync(file, "utf8")).toBe("[hello\n");
  });

  test("comments and layout survive", () => {
    mkdirSync(t.home);
    const original = `# My Carapace settings.

[runtime]   # which engine
engine = "podman"   # rootful on this box

[security]
# stricter than the default
rate_limit_per_minute = 30
`;
    writeFileSync(file, original);
    const first = setConfigValue(t.home, "security.rate_limit_per_minute", "45");
    setConfigValue(t.home, "security.rate_limit_burst", "5");
    setConfigValue(t.home, "runtime.engine", "docker");
    setConfigValue(t.home, "groups.family.policy", "reject");
    expect(first.preserved).toBe(true);
    expect(readFileSync(file, "utf8")).toBe(`# My Carapace settings.

[runtime]   # which engine
engine = "docker"   # rootful on this box

[security]
# stricter than the default
rate_limit_per_minute = 45
rate_limit_burst = 5

[groups.family]
policy = "reject"
`);
  });
});

describe("config get and list", () => {
  test("list marks user-set, default and inherited values", () => {
    setConfigValue(t.home, "security.rate_limit_burst", "3");
    setConfigValue(t.home, "groups.work.policy", "reject");
    const entries = listConfig(t.home);
    const find = (key: string) => entries.find((e) => e.key === key);
    expect(find("security.rate_limit_burst")).toEqual({ key: "security.rate_limit_burst", value: 3, source: "user" });
    expect(find("runtime.engine")).toEqual({ key: "runtime.engine", value: "auto", source: "default" });
    expect(find("groups.work.rate_limit_burst")).toEqual({
      key: "groups.work.rate_limit_burst",
      value: 3,
      source: "inherited",
    });
    expect(find("groups.work.policy")?.source).toBe("user");
    expect(entries.filter((e) => e.key.startsWith("security.")).length).toBe(16);
  });

  test("get of a table lists its keys; an unconfigured group shows what it inherits", () => {
    expect(getConfig(t.home, "memory").map((e) => e.key)).toEqual([
      "memory.max_stores_per_session",
      "memory.max_supersedes_per_session",
      "memory.max_deletes_per_session",
    ]);
    expect(getConfig(t.home, "groups.home")).toEqual([
      { key: "groups.home.rate_limit_per_minute", value: 60, source: "inherited" },
      { key: "groups.home.rate_limit_burst", value: 10, source: "inherited" },
      { key: "groups.home.max_sessions_per_group", value: 3, source: "inherited" },
      { key: "groups.home.daily_tokens", value: 50_000_000, source: "inherited" },
      { key: "groups.home.daily_requests", value: 5000, source: "inherited" },
      { key: "groups.home.history_turns", value: 20, source: "inherited" },
      { key: "groups.home.history_bytes", value: 32_000, source: "inherited" },
      { key: "groups.home.policy", value: "queue", source: "default" },
    ]);
    expect(getConfig(t.home, "groups.home.policy")).toEqual([
      { key: "groups.home.policy", value: "queue", source: "default" },
    ]);
  });
});
