import { DEFAULT_LIMITS } from "../protocol/limits.ts";
import type { UserChannelConfig } from "./channel-keys.ts";
import type { McpConfig } from "./mcp.ts";
import { CARAPACE_VERSION } from "./version.ts";

/**
 * Every config.toml key, once: its type, bounds and default. The JSON Schema, DEFAULT_CONFIG, the
 * Config type, `config set` coercion and `config list` are all derived from this table.
 */

interface KeyBase {
  description: string;
}
export interface StringKey extends KeyBase {
  kind: "string";
  default: string;
  pattern?: string;
  /** Shown in errors when the pattern does not match. */
  patternHint?: string;
}
export interface IntegerKey extends KeyBase {
  kind: "integer";
  default: number;
  minimum: number;
  maximum: number;
}
export interface BooleanKey extends KeyBase {
  kind: "boolean";
  default: boolean;
}
export interface EnumKey<V extends string = string> extends KeyBase {
  kind: "enum";
  values: readonly V[];
  default: V;
}
export interface StringListKey extends KeyBase {
  kind: "string-list";
  default: readonly string[];
  itemPattern?: string;
  itemPatternHint?: string;
  maxItems: number;
}
export type KeySpec = StringKey | IntegerKey | BooleanKey | EnumKey | StringListKey;

const string = (d: string, description: string, pattern?: string, patternHint?: string): StringKey => ({
  kind: "string",
  default: d,
  description,
  ...(pattern === undefined ? {} : { pattern }),
  ...(patternHint === undefined ? {} : { patternHint }),
});
const integer = (d: number, minimum: number, maximum: number, description: string): IntegerKey => ({
  kind: "integer",
  default: d,
  minimum,
  maximum,
  description,
});
const boolean = (d: boolean, description: string): BooleanKey => ({ kind: "boolean", default: d, description });
const oneOf = <const V extends string>(values: readonly V[], d: V, description: string): EnumKey<V> => ({
  kind: "enum",
  values,
  default: d,
  description,
});
const list = (
  d: readonly string[],
  description: string,
  itemPattern?: string,
  itemPatternHint?: string,
  maxItems = 64,
): StringListKey => ({
  kind: "string-list",
  default: d,
  description,
  maxItems,
  ...(itemPattern === undefined ? {} : { itemPattern }),
  ...(itemPatternHint === undefined ? {} : { itemPatternHint }),
});

const MIB = 1024 * 1024;
const HOUR_MS = 3_600_000;
const L = DEFAULT_LIMITS;

export { GROUP_NAME_HINT, GROUP_NAME_PATTERN } from "../protocol/group-name.ts";

const PLUGIN_NAME_PATTERN = "^[a-z0-9][a-z0-9_.-]{0,63}$";
const HOST_PORT_PATTERN = "^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9]([A-Za-z0-9.-]{0,252}[A-Za-z0-9])?):[0-9]{1,5}$";

export const SECURITY_KEYS = {
  max_frame_bytes: integer(L.maxFrameBytes, 1024, 64 * MIB, "largest raw request frame, checked before parsing"),
  max_json_depth: integer(L.maxJsonDepth, 2, 1024, "deepest nesting of a request's JSON, checked before parsing"),
  max_argument_string_bytes: integer(L.maxArgumentStringBytes, 16, 64 * MIB, "longest single string argument"),
  max_response_bytes: integer(L.maxResponseBytes, 1024, 64 * MIB, "largest reply a handler may return"),
  handler_timeout_ms: integer(L.handlerTimeoutMs, 100, HOUR_MS, "time a tool handler may take"),
  confirmation_timeout_ms: integer(L.confirmationTimeoutMs, 1000, 24 * HOUR_MS, "wait for a high-risk approval"),
  plugin_init_timeout_ms: integer(L.pluginInitTimeoutMs, 100, 10 * 60_000, "time a plugin may take to initialize"),
  plugin_shutdown_timeout_ms: integer(L.pluginShutdownTimeoutMs, 100, 10 * 60_000, "time a plugin may take to stop"),
  plugin_memory_mb: integer(L.pluginMemoryMb, 64, 64 * 1024, "resident memory a plugin process may use"),
  container_stop_timeout_ms: integer(L.containerStopTimeoutMs, 100, 10 * 60_000, "graceful stop before a kill"),
  rate_limit_per_minute: integer(L.rateLimitPerMinute, 1, 1_000_000, "requests per minute per session"),
  rate_limit_burst: integer(L.rateLimitBurst, 1, 1_000_000, "requests a session may make at once"),
  max_sessions_per_group: integer(L.maxSessionsPerGroup, 1, 1000, "concurrent sessions per group"),
  max_inflight_per_session: integer(L.maxInflightPerSession, 1, 4096, "unanswered requests per session"),
  max_pending_confirmations_per_session: integer(
    L.maxPendingConfirmationsPerSession,
    1,
    256,
    "high-risk calls waiting for approval per session",
  ),
  reply_cache_size: integer(L.replyCacheSize, 1, 1_000_000, "replies kept to answer a retried correlation"),
} as const;

export const SECTION_KEYS = {
  runtime: {
    engine: oneOf(["auto", "podman", "docker", "apple"], "auto", "container runtime; auto detects one"),
    image: string(`localhost/carapace-agent:${CARAPACE_VERSION}`, "agent image reference", "^\\S{1,255}$", "no spaces"),
    base_image: string(
      "docker.io/library/debian:bookworm-slim",
      "image `carapace image build` builds the agent image on (offline CI uses the locally made localhost/carapace-base:bookworm)",
      "^\\S{1,255}$",
      "no spaces",
    ),
    allow_rootless_unlimited: boolean(
      false,
      "run sessions under rootless Podman even where it cannot enforce memory and pids limits",
    ),
    prestart: boolean(
      false,
      "keep one pre-started locked container per active group (one that ran a session, or has a [groups.<name>] table), with no session until its next session claims it",
    ),
  },
  plugins: {
    dirs: list([], "extra directories to load plugins from"),
    disabled: list([], "plugin names not to load", PLUGIN_NAME_PATTERN, "a plugin name"),
  },
  security: SECURITY_KEYS,
  network: {
    upstream_allowlist: list(
      ["api.anthropic.com:443"],
      "host:port pairs the egress proxy may reach",
      HOST_PORT_PATTERN,
      "host:port, e.g. api.anthropic.com:443",
    ),
    upstream_url: string(
      "https://api.anthropic.com",
      "where the egress proxy sends the agent's API traffic",
      "^https?://[^\\s/?#]+(/[^\\s?#]*)?$",
      "an http:// or https:// URL without query",
    ),
  },
  hello: {
    enabled: boolean(true, "offer the hello.greet|echo|time tools"),
  },
  logging: {
    level: oneOf(["debug", "info", "warn", "error"], "info", "lowest level logged"),
    format: oneOf(["auto", "json", "pretty"], "auto", "auto: pretty on a terminal, JSON lines otherwise"),
  },
  budget: {
    session_tokens: integer(
      10_000_000,
      0,
      100_000_000_000,
      "API tokens (input, cache and output) one agent session may use; 0: no limit",
    ),
    session_requests: integer(1_000, 0, 10_000_000, "API requests one agent session may make; 0: no limit"),
    group_daily_tokens: integer(
      50_000_000,
      0,
      1_000_000_000_000,
      "API tokens all sessions of a group may use per UTC day; 0: no limit",
    ),
    group_daily_requests: integer(5_000, 0, 100_000_000, "API requests of a group per UTC day; 0: no limit"),
  },
  memory: {
    max_stores_per_session: integer(20, 0, 10_000, "memory_store calls per session"),
    max_supersedes_per_session: integer(5, 0, 10_000, "stores that supersede an entry, per session"),
    max_deletes_per_session: integer(5, 0, 10_000, "memory_delete calls per session"),
  },
  conversation: {
    history_turns: integer(
      20,
      0,
      1000,
      "earlier turns of a conversation shown to its next session (oldest dropped first)",
    ),
    history_bytes: integer(32_000, 0, 1_000_000, "bytes of earlier turns shown to a conversation's next session"),
  },
} as const;

const SECTION_KEYS_BUDGET_GROUP_DAILY_TOKENS = SECTION_KEYS.budget.group_daily_tokens;
const SECTION_KEYS_BUDGET_GROUP_DAILY_REQUESTS = SECTION_KEYS.budget.group_daily_requests;

/** Keys of a [groups.<name>] table. Absent limits inherit from [security] (budgets from [budget]). */
export const GROUP_KEYS = {
  rate_limit_per_minute: SECURITY_KEYS.rate_limit_per_minute,
  rate_limit_burst: SECURITY_KEYS.rate_limit_burst,
  max_sessions_per_group: SECURITY_KEYS.max_sessions_per_group,
  daily_tokens: {
    ...SECTION_KEYS_BUDGET_GROUP_DAILY_TOKENS,
    description: "this group's API tokens per UTC day (overrides [budget] group_daily_tokens)",
  },
  daily_requests: {
    ...SECTION_KEYS_BUDGET_GROUP_DAILY_REQUESTS,
    description: "this group's API requests per UTC day (overrides [budget] group_daily_requests)",
  },
  history_turns: {
    ...SECTION_KEYS.conversation.history_turns,
    description: "this group's earlier turns shown per session (overrides [conversation] history_turns)",
  },
  history_bytes: {
    ...SECTION_KEYS.conversation.history_bytes,
    description: "this group's bytes of earlier turns per session (overrides [conversation] history_bytes)",
  },
  policy: oneOf(
    ["queue", "reject", "concurrent"],
    "queue",
    "what a new message does while the group's sessions are busy",
  ),
} as const;

export type SectionName = keyof typeof SECTION_KEYS;
export const SECTION_NAMES = Object.keys(SECTION_KEYS) as SectionName[];
/** Top-level tables of config.toml, in the order `config list` prints them. */
export const TOP_LEVEL_KEYS = [...SECTION_NAMES, "groups", "mcp", "channels"] as const;

type ValueOf<S> =
  S extends EnumKey<infer V>
    ? V
    : S extends IntegerKey
      ? number
      : S extends BooleanKey
        ? boolean
        : S extends StringListKey
          ? string[]
          : string;

type SectionValues<T> = { -readonly [K in keyof T]: ValueOf<T[K]> };

export type RuntimeConfig = SectionValues<typeof SECTION_KEYS.runtime>;
export type SecurityConfig = SectionValues<typeof SECURITY_KEYS>;
export type GroupConfig = Partial<SectionValues<typeof GROUP_KEYS>>;
export type Config = { [S in SectionName]: SectionValues<(typeof SECTION_KEYS)[S]> } & {
  groups: Record<string, GroupConfig>;
  mcp: McpConfig;
  /** [channels.<name>] as written (channel-keys.ts fills in the defaults). */
  channels: Record<string, UserChannelConfig>;
};
