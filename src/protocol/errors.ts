/** The ten error codes of the wire protocol, with the metadata the pipeline attaches to them. */
export const ERROR_CODES = {
  UNKNOWN_TOOL: { stage: 2, retriable: false },
  VALIDATION_FAILED: { stage: 3, retriable: false },
  UNAUTHORIZED: { stage: 4, retriable: false },
  RATE_LIMITED: { stage: 4, retriable: true },
  CONFIRMATION_TIMEOUT: { stage: 5, retriable: true },
  CONFIRMATION_DENIED: { stage: 5, retriable: false },
  PLUGIN_TIMEOUT: { stage: 6, retriable: true },
  PLUGIN_UNAVAILABLE: { stage: 6, retriable: true },
  PLUGIN_ERROR: { stage: 6, retriable: false },
  HANDLER_ERROR: { stage: 6, retriable: false },
} as const satisfies Record<string, { stage: Stage; retriable: boolean }>;

export type Stage = 1 | 2 | 3 | 4 | 5 | 6;
export type ErrorCode = keyof typeof ERROR_CODES;

/** Codes only the pipeline may produce; a handler that uses one is normalized to HANDLER_ERROR. */
export const PIPELINE_ONLY_CODES: ReadonlySet<string> = new Set<ErrorCode>([
  "UNKNOWN_TOOL",
  "VALIDATION_FAILED",
  "UNAUTHORIZED",
  "RATE_LIMITED",
  "CONFIRMATION_TIMEOUT",
  "CONFIRMATION_DENIED",
  "PLUGIN_TIMEOUT",
  "PLUGIN_UNAVAILABLE",
  "PLUGIN_ERROR",
]);

export interface ErrorObject {
  code: ErrorCode;
  message: string;
  retriable: boolean;
  stage?: Stage;
  field?: string;
  retry_after?: number;
  /** For HANDLER_ERROR: the code the plugin's ToolError carried (never a pipeline code). */
  handler_code?: string;
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && Object.hasOwn(ERROR_CODES, value);
}

/** Builds an error object with the code's default stage and retriability. */
export function errorObject(
  code: ErrorCode,
  message: string,
  extra: { field?: string; retry_after?: number; retriable?: boolean } = {},
): ErrorObject {
  const meta = ERROR_CODES[code];
  const out: ErrorObject = { code, message, retriable: extra.retriable ?? meta.retriable, stage: meta.stage };
  if (extra.field !== undefined) out.field = extra.field;
  if (extra.retry_after !== undefined) out.retry_after = Math.max(1, Math.ceil(extra.retry_after));
  return out;
}
