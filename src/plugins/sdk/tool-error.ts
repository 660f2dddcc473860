/**
 * The one error a handler may throw on purpose. Its code and message reach the caller as
 * HANDLER_ERROR (pipeline codes are normalized); anything else a handler throws becomes a generic
 * PLUGIN_ERROR with no internals.
 */
export class ToolError extends Error {
  readonly code: string;
  readonly retriable: boolean;
  constructor(code: string, message: string, options: { retriable?: boolean } = {}) {
    super(message);
    this.name = "ToolError";
    this.code = code;
    this.retriable = options.retriable ?? false;
  }
}
