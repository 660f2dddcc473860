import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse, TomlError, type TomlTable } from "smol-toml";
import { DEFAULT_LIMITS, type Limits } from "../protocol/limits.ts";
import { ConfigError } from "./config-error.ts";
import { CONFIG_FILE } from "./home.ts";
import {
  type Config,
  GROUP_KEYS,
  type GroupConfig,
  SECTION_NAMES,
  type SectionName,
  type SecurityConfig,
} from "./keys.ts";
import { type McpConfig, mcpServerProblem } from "./mcp.ts";
import { cloneDefaults } from "./schema.ts";
import { assertValidConfig } from "./validate.ts";

/** What config.toml holds after validation: only the keys the user wrote. */
export type UserConfig = { [S in SectionName]?: Partial<Config[S]> } & {
  groups?: Record<string, GroupConfig>;
  mcp?: Partial<McpConfig>;
  channels?: Config["channels"];
};

export interface ConfigFile {
  path: string;
  /** The file's text, or null when there is no file. */
  text: string | null;
  user: UserConfig;
}

export function configPath(home: string): string {
  return join(home, CONFIG_FILE);
}

/** Parses TOML text and validates it; throws ConfigError naming the line or key at fault. */
export function parseConfigText(text: string, path: string): UserConfig {
  let table: TomlTable;
  try {
    table = parse(text);
  } catch (error) {
    if (error instanceof TomlError) {
      const reason = error.message.split("\n")[0]?.replace(/^Invalid TOML document: /, "") ?? "syntax error";
      throw new ConfigError(
        "",
        `${path} is not valid TOML: ${reason} (line ${error.line}, column ${error.column})`,
        `correct line ${error.line} of ${path}, or move the file away to use the defaults`,
      );
    }
    throw error;
  }
  assertValidConfig(table, { location: `in ${path}` });
  for (const [name, server] of Object.entries((table as UserConfig).mcp?.servers ?? {})) {
    const wrong = mcpServerProblem(server);
    if (wrong) throw new ConfigError(`mcp.servers.${name}`, `[mcp.servers.${name}] ${wrong}`, `correct it in ${path}`);
  }
  return table as UserConfig;
}

export function readConfigFile(home: string): ConfigFile {
  const path = configPath(home);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return { path, text: null, user: {} };
    throw new ConfigError("", `cannot read ${path}: ${code ?? String(error)}`, `make ${path} readable by you`);
  }
  return { path, text, user: parseConfigText(text, path) };
}

/** The user's values over the defaults. */
export function mergeConfig(user: UserConfig): Config {
  const config = cloneDefaults();
  for (const section of SECTION_NAMES) {
    const values = user[section];
    if (values !== undefined) Object.assign(config[section], structuredClone(values));
  }
  config.groups = structuredClone(user.groups ?? {});
  config.mcp = { servers: structuredClone(user.mcp?.servers ?? {}) };
  config.channels = structuredClone(user.channels ?? {});
  return config;
}

/** config.toml under `home` with defaults applied; a missing file means every default. */
export function loadConfig(home: string): Config {
  return mergeConfig(readConfigFile(home).user);
}

/** [security] key → Limits field; ipcTimeoutMs is not configurable here (it belongs to `ipc`). */
export const SECURITY_TO_LIMIT = Object.fromEntries(
  Object.keys(DEFAULT_LIMITS)
    .filter((field) => field !== "ipcTimeoutMs")
    .map((field) => [field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), field]),
) as Record<keyof SecurityConfig, keyof Limits>;

/** The limits the core enforces, with a group's overrides from [groups.<name>] when `group` is given. */
export function limitsFromConfig(config: Config, group?: string): Limits {
  const limits: Limits = { ...DEFAULT_LIMITS };
  for (const [key, field] of Object.entries(SECURITY_TO_LIMIT)) {
    const value = config.security[key as keyof SecurityConfig];
    if (value !== undefined) limits[field] = value;
  }
  const overrides = group === undefined ? undefined : config.groups[group];
  if (overrides !== undefined) {
    if (overrides.rate_limit_per_minute !== undefined) limits.rateLimitPerMinute = overrides.rate_limit_per_minute;
    if (overrides.rate_limit_burst !== undefined) limits.rateLimitBurst = overrides.rate_limit_burst;
    if (overrides.max_sessions_per_group !== undefined) limits.maxSessionsPerGroup = overrides.max_sessions_per_group;
  }
  return limits;
}

/**
 * `limitsFromConfig` computed once per group: a core reads config.toml only at start, and the limits are
 * asked for on every call. The shared objects are frozen so no caller can change another's limits.
 */
export function cachedLimits(config: Config): (group?: string) => Limits {
  const byGroup = new Map<string | undefined, Limits>();
  return (group) => {
    let limits = byGroup.get(group);
    if (!limits) {
      limits = Object.freeze(limitsFromConfig(config, group));
      byGroup.set(group, limits);
    }
    return limits;
  };
}

/** What the egress proxy lets a group's sessions spend; 0 means no limit. */
export interface EgressBudgets {
  sessionTokens: number;
  sessionRequests: number;
  groupDailyTokens: number;
  groupDailyRequests: number;
}

export function budgetsFor(config: Config, group: string): EgressBudgets {
  const own = config.groups[group] ?? {};
  return {
    sessionTokens: config.budget.session_tokens,
    sessionRequests: config.budget.session_requests,
    groupDailyTokens: own.daily_tokens ?? config.budget.group_daily_tokens,
    groupDailyRequests: own.daily_requests ?? config.budget.group_daily_requests,
  };
}

/** A group's settings with everything it does not override filled in. */
export function groupSettings(config: Config, group: string): Required<GroupConfig> {
  const own = config.groups[group] ?? {};
  return {
    rate_limit_per_minute: own.rate_limit_per_minute ?? config.security.rate_limit_per_minute,
    rate_limit_burst: own.rate_limit_burst ?? config.security.rate_limit_burst,
    max_sessions_per_group: own.max_sessions_per_group ?? config.security.max_sessions_per_group,
    daily_tokens: own.daily_tokens ?? config.budget.group_daily_tokens,
    daily_requests: own.daily_requests ?? config.budget.group_daily_requests,
    history_turns: own.history_turns ?? config.conversation.history_turns,
    history_bytes: own.history_bytes ?? config.conversation.history_bytes,
    policy: own.policy ?? GROUP_KEYS.policy.default,
  };
}
