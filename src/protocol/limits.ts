/** Default limits of the wire protocol. All are configurable through config.toml's [security] section. */
export const DEFAULT_LIMITS = {
  maxFrameBytes: 1024 * 1024,
  maxJsonDepth: 64,
  maxArgumentStringBytes: 100 * 1024,
  maxResponseBytes: 1024 * 1024,
  handlerTimeoutMs: 30_000,
  confirmationTimeoutMs: 5 * 60_000,
  pluginInitTimeoutMs: 10_000,
  pluginShutdownTimeoutMs: 5_000,
  pluginMemoryMb: 512,
  containerStopTimeoutMs: 10_000,
  ipcTimeoutMs: 35_000,
  rateLimitPerMinute: 60,
  rateLimitBurst: 10,
  maxSessionsPerGroup: 3,
  maxInflightPerSession: 32,
  maxPendingConfirmationsPerSession: 4,
  replyCacheSize: 256,
} as const;

export type Limits = { -readonly [K in keyof typeof DEFAULT_LIMITS]: number };
