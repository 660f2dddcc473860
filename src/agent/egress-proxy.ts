/**
 * The host side of the agent's LLM access (docs/ARCHITECTURE.md, "The life of a session"): one HTTP proxy per session on a Unix socket
 * in the session directory, reached from the container through `ipc forward`. It checks the
 * per-session token, lets only the Messages API endpoints through, caps the body, keeps a token budget,
 * swaps in the real credential and streams the upstream's answer back unchanged. Every call is audited;
 * neither the credential nor the session token ever appears in an audit event or an error.
 */
import { existsSync, lstatSync, unlinkSync } from "node:fs";
import { restrictSocketFile } from "../transport/socket.ts";
import type { BudgetName, EgressBudget } from "./egress-budget.ts";
import {
  checkRoute,
  checkUpstream,
  EgressConfigError,
  forwardedRequestHeaders,
  presentedToken,
  returnedResponseHeaders,
  tokenMatches,
} from "./egress-policy.ts";
import { tapUsage, type Usage } from "./egress-usage.ts";

export interface EgressCredential {
  header: "x-api-key" | "authorization";
  /** For "authorization": the whole value, "Bearer …". */
  value: string;
}

export interface EgressAuditEvent {
  method: string;
  path: string;
  status: number;
  outcome: "forwarded" | "refused";
  reason?: string;
  /** Set when a spending budget refused the request. */
  budget?: BudgetName;
  requestBytes: number;
  inputTokens?: number;
  outputTokens?: number;
}

export interface EgressProxyOptions {
  socketPath: string;
  token: string;
  upstream: string;
  allowlist: string[];
  credential: () => Promise<EgressCredential | null>;
  maxBodyBytes?: number;
  tokenBudget?: number;
  /** Session and group budgets, asked before each request is forwarded. */
  budget?: EgressBudget;
  onAudit?: (e: EgressAuditEvent) => void;
}

export interface EgressProxy {
  close(): Promise<void>;
  stats(): { calls: number; refused: number; tokens: number };
}

export const DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024;
const MAX_AUDIT_PATH = 256;

type ErrorType =
  | "authentication_error"
  | "permission_error"
  | "not_found_error"
  | "invalid_request_error"
  | "request_too_large"
  | "rate_limit_error"
  | "api_error";

/** Errors in the Messages API's own shape, so Claude Code reports them sensibly. */
function refusal(status: number, type: ErrorType, message: string): Response {
  return Response.json({ type: "error", error: { type, message: `carapace egress proxy: ${message}` } }, { status });
}

class BodyTooLarge extends Error {}

/** Reads the request body, giving up as soon as it passes the cap (a declared length is checked first). */
async function readCapped(req: Request, max: number): Promise<Uint8Array> {
  const declared = Number(req.headers.get("content-length") ?? Number.NaN);
  if (Number.isFinite(declared) && declared > max) throw new BodyTooLarge();
  if (req.body === null) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = req.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel().catch(() => {});
      throw new BodyTooLarge();
    }
    chunks.push(value);
  }
  const body = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

function removeStaleSocket(path: string): void {
  if (!existsSync(path)) return;
  if (!lstatSync(path).isSocket()) {
    throw new EgressConfigError(`${path} exists and is not a socket`, "remove it or choose another session directory");
  }
  unlinkSync(path);
}

function upstreamUrl(base: URL, incoming: URL): string {
  const prefix = base.pathname.replace(/\/+$/, "");
  return `${base.origin}${prefix}${incoming.pathname}${incoming.search}`;
}

export async function startEgressProxy(o: EgressProxyOptions): Promise<EgressProxy> {
  const base = checkUpstream(o.upstream, o.allowlist);
  if (o.token.length < 16) {
    throw new EgressConfigError(
      "the session token is shorter than 16 characters",
      "generate it with crypto.randomBytes",
    );
  }
  const maxBody = o.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const counters = { calls: 0, refused: 0, tokens: 0 };
  const audit = (e: EgressAuditEvent) => {
    if (e.outcome === "refused") counters.refused++;
    try {
      o.onAudit?.(e);
    } catch {
      // an audit sink that throws must not take the proxy down; the caller's sink reports its own failures
    }
  };

  async function handle(req: Request): Promise<Response> {
    counters.calls++;
    const url = new URL(req.url);
    const path = (url.pathname + url.search).slice(0, MAX_AUDIT_PATH);
    const refuse = (status: number, type: ErrorType, reason: string, requestBytes = 0): Response => {
      audit({ method: req.method, path, status, outcome: "refused", reason, requestBytes });
      return refusal(status, type, reason);
    };

    if (!tokenMatches(presentedToken(req.headers), o.token)) {
      return refuse(401, "authentication_error", "missing or wrong session token");
    }
    const route = checkRoute(req.method, url);
    if (!route.ok) {
      return refuse(
        route.status,
        route.status === 404 ? "not_found_error" : route.status === 405 ? "invalid_request_error" : "permission_error",
        route.reason,
      );
    }
    if (o.tokenBudget !== undefined && counters.tokens >= o.tokenBudget) {
      return refuse(429, "rate_limit_error", `session token budget of ${o.tokenBudget} tokens is used up`);
    }
    const overBudget = o.budget?.admit() ?? null;
    if (overBudget) {
      audit({
        method: req.method,
        path,
        status: 429,
        outcome: "refused",
        reason: overBudget.message,
        requestBytes: 0,
        budget: overBudget.budget,
      });
      return refusal(429, "rate_limit_error", overBudget.message);
    }
    let body: Uint8Array;
    try {
      body = await readCapped(req, maxBody);
    } catch (error) {
      if (error instanceof BodyTooLarge)
        return refuse(413, "request_too_large", `request body exceeds ${maxBody} bytes`);
      return refuse(400, "invalid_request_error", "could not read the request body");
    }
    const credential = await o.credential().catch(() => null);
    if (credential === null) {
      return refuse(
        503,
        "api_error",
        "no Anthropic credential is stored on the host (run: carapace auth api-key)",
        body.byteLength,
      );
    }
    const headers = forwardedRequestHeaders(req.headers);
    headers.set(credential.header, credential.value);

    o.budget?.forwarded();
    let upstream: Response;
    try {
      upstream = await fetch(upstreamUrl(base, url), {
        method: "POST",
        headers,
        body,
        redirect: "manual",
        decompress: false,
        signal: req.signal,
      });
    } catch {
      return refuse(502, "api_error", "the upstream could not be reached", body.byteLength);
    }
    const countsTokens = url.pathname === "/v1/messages";
    const finish = (usage: Usage) => {
      const tokens = (usage.inputTokens ?? 0) + (usage.outputTokens ?? 0);
      if (countsTokens) {
        counters.tokens += tokens;
        o.budget?.used(tokens);
      }
      audit({
        method: req.method,
        path,
        status: upstream.status,
        outcome: "forwarded",
        requestBytes: body.byteLength,
        ...(usage.inputTokens !== undefined ? { inputTokens: usage.inputTokens } : {}),
        ...(usage.outputTokens !== undefined ? { outputTokens: usage.outputTokens } : {}),
      });
    };
    const responseHeaders = returnedResponseHeaders(upstream.headers);
    if (upstream.body === null) {
      finish({});
      return new Response(null, { status: upstream.status, headers: responseHeaders });
    }
    const tapped = tapUsage(upstream.body, upstream.headers.get("content-type"), finish);
    return new Response(tapped, { status: upstream.status, statusText: upstream.statusText, headers: responseHeaders });
  }

  removeStaleSocket(o.socketPath);
  const server = Bun.serve({
    unix: o.socketPath,
    // A streamed answer can pause while the model thinks (the default 10 s idle limit cuts it off; the
    // upstream fetch keeps its own limit). Bun honours idleTimeout on Unix sockets, its types omit it.
    ...({ idleTimeout: 0 } as object),
    fetch: handle,
    error: () => refusal(500, "api_error", "internal proxy error"),
  });
  try {
    restrictSocketFile(o.socketPath);
  } catch (e) {
    void server.stop(true);
    throw e;
  }

  let closed = false;
  return {
    async close() {
      if (closed) return;
      closed = true;
      await server.stop(true);
      if (existsSync(o.socketPath)) unlinkSync(o.socketPath);
    },
    stats: () => ({ ...counters }),
  };
}
