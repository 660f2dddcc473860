import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "../../src/config/config-error.ts";
import { GROUP_KEYS, SECTION_KEYS, SECTION_NAMES, SECURITY_KEYS } from "../../src/config/keys.ts";
import {
  cachedLimits,
  groupSettings,
  limitsFromConfig,
  loadConfig,
  parseConfigText,
  SECURITY_TO_LIMIT,
} from "../../src/config/load.ts";
import { buildConfigSchema, DEFAULT_CONFIG } from "../../src/config/schema.ts";
import { DEFAULT_LIMITS } from "../../src/protocol/limits.ts";
import { tempHome } from "./temp-home.ts";

let t: ReturnType<typeof tempHome>;
beforeEach(() => {
  t = tempHome();
  mkdirSync(t.home);
});
afterEach(() => t.cleanup());

function writeConfig(text: string) {
  writeFileSync(join(t.home, "config.toml"), text);
}

function errorOf(text: string): ConfigError {
  try {
    parseConfigText(text, "/h/config.toml");
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("defaults", () => {
  test("a missing file gives every default", () => {
    expect(loadConfig(t.home)).toEqual(DEFAULT_CONFIG);
    expect(DEFAULT_CONFIG.runtime.engine).toBe("auto");
    expect(DEFAULT_CONFIG.network.upstream_allowlist).toEqual(["api.anthropic.com:443"]);
    expect(DEFAULT_CONFIG.hello.enabled).toBe(true);
    expect(DEFAULT_CONFIG.memory).toEqual({
      max_stores_per_session: 20,
      max_supersedes_per_session: 5,
      max_deletes_per_session: 5,
    });
    expect(DEFAULT_CONFIG.groups).toEqual({});
  });

  test("DEFAULT_CONFIG is frozen and loadConfig returns independent copies", () => {
    expect(Object.isFrozen(DEFAULT_CONFIG.network.upstream_allowlist)).toBe(true);
    const a = loadConfig(t.home);
    a.network.upstream_allowlist.push("x:1");
    expect(loadConfig(t.home).network.upstream_allowlist).toEqual(["api.anthropic.com:443"]);
  });

  test("the [security] defaults are the protocol's limits", () => {
    expect(limitsFromConfig(loadConfig(t.home))).toEqual({ ...DEFAULT_LIMITS });
  });

  test("every limit except the ipc-side timeout has a [security] key", () => {
    const mapped = Object.values(SECURITY_TO_LIMIT).sort();
    const limits = Object.keys(DEFAULT_LIMITS)
      .filter((k) => k !== "ipcTimeoutMs")
      .sort();
    expect(mapped).toEqual(limits as typeof mapped);
    expect(Object.keys(SECURITY_TO_LIMIT).sort()).toEqual(Object.keys(SECURITY_KEYS).sort());
  });
});

describe("loading a file", () => {
  test("user values override defaults and the rest stays default", () => {
    writeConfig(`# mine
[runtime]
engine = "podman"
[security]
rate_limit_burst = 3
max_frame_bytes = 2048
[groups.work]
rate_limit_burst = 7
policy = "reject"
`);
    const config = loadConfig(t.home);
    expect(config.runtime).toEqual({ ...DEFAULT_CONFIG.runtime, engine: "podman" });
    expect(config.security.rate_limit_per_minute).toBe(60);
    const limits = limitsFromConfig(config);
    expect(limits.rateLimitBurst).toBe(3);
    expect(limits.maxFrameBytes).toBe(2048);
    const work = limitsFromConfig(config, "work");
    expect(work.rateLimitBurst).toBe(7);
    expect(work.maxFrameBytes).toBe(2048);
    expect(limitsFromConfig(config, "home").rateLimitBurst).toBe(3);
    const cached = cachedLimits(config);
    expect(cached("work")).toEqual(work);
    expect(cached("work")).toBe(cached("work"));
    expect(cached()).toEqual(limits);
    expect(Object.isFrozen(cached("work"))).toBe(true);
    expect(groupSettings(config, "work")).toEqual({
      rate_limit_per_minute: 60,
      rate_limit_burst: 7,
      max_sessions_per_group: 3,
      daily_tokens: DEFAULT_CONFIG.budget.group_daily_tokens,
      daily_requests: DEFAULT_CONFIG.budget.group_daily_requests,
      history_turns: DEFAULT_CONFIG.conversation.history_turns,
      history_bytes: DEFAULT_CONFIG.conversation.history_bytes,
      policy: "reject",
    });
    expect(groupSettings(config, "other").policy).toBe("queue");
  });

  test("syntax errors name the line and column", () => {
    writeConfig("[hello]\nenabled = tru\n");
    expect(() => loadConfig(t.home)).toThrow(
      /config\.toml is not valid TOML: .*\(line 2, column \d+\).*Fix: correct line 2/,
    );
  });
});

describe("validation errors", () => {
  test("a wrong type names the key, the expected type and the value", () => {
    const e = errorOf('[security]\nmax_frame_bytes = "big"');
    expect(e.key).toBe("security.max_frame_bytes");
    expect(e.message).toBe(
      '[CONFIG] Error: "security.max_frame_bytes" must be a whole number from 1024 to 67108864, but is "big". Fix: correct "security.max_frame_bytes" in /h/config.toml.',
    );
  });

  test("an enum names the valid choices", () => {
    expect(errorOf('[runtime]\nengine = "lxc"').message).toContain(
      '"runtime.engine" must be one of "auto", "podman", "docker", "apple", but is "lxc"',
    );
    expect(errorOf('[logging]\nformat = "xml"').message).toContain('one of "auto", "json", "pretty"');
    expect(errorOf('[groups.work]\npolicy = "fifo"').message).toContain(
      '"groups.work.policy" must be one of "queue", "reject", "concurrent"',
    );
  });

  test("out of range, floats, booleans and dates are refused", () => {
    expect(errorOf("[security]\nrate_limit_burst = 0").message).toContain("from 1 to 1000000, but is 0");
    expect(errorOf("[security]\nhandler_timeout_ms = 1.5").message).toContain("but is 1.5");
    expect(errorOf('[hello]\nenabled = "yes"').message).toContain('"hello.enabled" must be true or false');
    expect(errorOf("[runtime]\nimage = 1979-05-27").message).toContain("but is the date 1979-05-27");
  });

  test("a memory quota above what the plugin takes is refused, not silently turned into the default", () => {
    expect(errorOf("[memory]\nmax_stores_per_session = 10001").message).toContain("from 0 to 10000, but is 10001");
    expect(() => parseConfigText("[memory]\nmax_stores_per_session = 10000", "/h/config.toml")).not.toThrow();
  });

  test("array items are checked one by one", () => {
    const e = errorOf('[network]\nupstream_allowlist = ["api.anthropic.com:443", "no port"]');
    expect(e.message).toContain('each item of "network.upstream_allowlist" (network.upstream_allowlist[1])');
    expect(e.message).toContain("host:port");
    expect(errorOf('[network]\nupstream_url = "ftp://x"').message).toContain("http:// or https://");
  });

  test("an unknown key lists the valid keys at its level and suggests the closest", () => {
    const e = errorOf("[security]\nrate_limit_per_minit = 5");
    expect(e.message).toContain(
      'unknown key "security.rate_limit_per_minit"; valid keys in [security]: max_frame_bytes,',
    );
    expect(e.message).toContain('Fix: write "security.rate_limit_per_minute" instead');
    const top = errorOf("[securty]\nx = 1");
    expect(top.message).toContain(
      "valid keys at the top level: runtime, plugins, security, network, hello, logging, budget, memory, conversation, groups",
    );
    expect(errorOf("[groups.work]\nburst = 1").message).toContain(
      "valid keys in [groups.work]: rate_limit_per_minute, rate_limit_burst, max_sessions_per_group, daily_tokens, daily_requests, history_turns, history_bytes, policy",
    );
  });

  test("group names must be lowercase [a-z0-9_-]{1,32}", () => {
    expect(errorOf('[groups.Work]\npolicy = "queue"').message).toContain('"Work" is not a valid group name');
    expect(errorOf(`[groups.${"a".repeat(33)}]\npolicy = "queue"`).message).toContain("is not a valid group name");
    expect(parseConfigText(`[groups.a-b_9]\npolicy = "queue"`, "x").groups?.["a-b_9"]?.policy).toBe("queue");
  });

  test("a value where a table belongs is refused", () => {
    expect(errorOf("security = 5").message).toContain('"security" must be a table ([security])');
  });
});

describe("schema", () => {
  test("every object in the schema is closed", () => {
    const open: string[] = [];
    const walk = (node: unknown, path: string) => {
      if (node === null || typeof node !== "object") return;
      const record = node as Record<string, unknown>;
      if (record.type === "object" && record.additionalProperties !== false) open.push(path);
      for (const [k, v] of Object.entries(record)) walk(v, `${path}/${k}`);
    };
    walk(buildConfigSchema(), "");
    expect(open).toEqual([]);
  });

  test("every key is documented in docs/HOME.md", () => {
    const doc = readFileSync(join(import.meta.dir, "../../docs/HOME.md"), "utf8");
    for (const section of SECTION_NAMES) {
      expect(doc).toContain(`### [${section}]`);
      for (const key of Object.keys(SECTION_KEYS[section])) expect(doc).toContain(`| \`${key}\` |`);
    }
    for (const key of Object.keys(GROUP_KEYS)) expect(doc).toContain(`| \`${key}\` |`);
  });
});
