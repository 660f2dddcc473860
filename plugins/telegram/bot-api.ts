/**
 * The Telegram Bot API over HTTPS with `fetch`: `POST <api_base>/bot<token>/<method>` with a JSON body.
 * The token lives only in the request URL; no error, log line or result of this module names the URL.
 * Failures are classified for the caller's retry policy: what Telegram refused for good, what it asked
 * to retry later (429 with retry_after), and what may or may not have reached it (a timeout).
 */

export const PUBLIC_API_BASE = "https://api.telegram.org";

export type FailureKind =
  /** 429: not processed; retry after `retryAfterS`. */
  | "rate_limited"
  /** 5xx, or a connection that failed before any answer: not processed, retry with backoff. */
  | "unavailable"
  /** No answer in time: it may have been processed (never resend a message after this). */
  | "timeout"
  /** An answer that is not the Bot API's JSON. */
  | "malformed"
  /** 4xx other than 429 (a bad chat, a blocked bot, a wrong token): retrying will not help. */
  | "refused";

export class BotApiError extends Error {
  constructor(
    readonly kind: FailureKind,
    readonly method: string,
    readonly status: number | null,
    /** Telegram's description, cut; never the URL. */
    readonly description: string,
    readonly retryAfterS: number | null = null,
  ) {
    super(
      `Telegram ${method}: ${kind}${status === null ? "" : ` (HTTP ${status})`}${description ? `: ${description}` : ""}`,
    );
    this.name = "BotApiError";
  }
}

export interface BotApiOptions {
  apiBase: string;
  token: string;
  fetch?: typeof fetch;
}

interface ApiAnswer {
  ok?: unknown;
  result?: unknown;
  description?: unknown;
  parameters?: { retry_after?: unknown };
}

export class BotApi {
  private readonly base: string;
  private readonly doFetch: typeof fetch;

  constructor(private readonly options: BotApiOptions) {
    this.base = (options.apiBase || PUBLIC_API_BASE).replace(/\/+$/, "");
    this.doFetch = options.fetch ?? fetch;
  }

  async call<T>(method: string, params: Record<string, unknown>, timeoutMs: number, signal?: AbortSignal): Promise<T> {
    const timeout = AbortSignal.timeout(timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let response: Response;
    try {
      response = await this.doFetch(`${this.base}/bot${this.options.token}/${method}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(params),
        signal: combined,
      });
    } catch {
      // The error's text may hold the URL (and so the token): only its kind leaves here.
      throw new BotApiError(timeout.aborted ? "timeout" : "unavailable", method, null, "");
    }
    let text: string;
    try {
      text = await response.text();
    } catch {
      throw new BotApiError(timeout.aborted ? "timeout" : "unavailable", method, response.status, "");
    }
    let answer: ApiAnswer;
    try {
      answer = JSON.parse(text) as ApiAnswer;
      if (typeof answer !== "object" || answer === null) throw new Error("not an object");
    } catch {
      if (response.status >= 500) throw new BotApiError("unavailable", method, response.status, "");
      throw new BotApiError("malformed", method, response.status, "the answer is not JSON");
    }
    const description = typeof answer.description === "string" ? answer.description.slice(0, 200) : "";
    if (response.status === 429) {
      const after = Number(answer.parameters?.retry_after);
      throw new BotApiError("rate_limited", method, 429, description, Number.isFinite(after) && after > 0 ? after : 1);
    }
    if (response.status >= 500) throw new BotApiError("unavailable", method, response.status, description);
    if (answer.ok !== true) throw new BotApiError("refused", method, response.status, description);
    return answer.result as T;
  }
}
