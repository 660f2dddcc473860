/**
 * What the egress proxy lets through, as pure functions: the upstream must be on the allowlist, the
 * caller must present the session token, and only the Messages API endpoints Claude Code uses pass.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { UserError } from "../errors/user-error.ts";

export const ALLOWED_PATHS: ReadonlySet<string> = new Set(["/v1/messages", "/v1/messages/count_tokens"]);
/** Query parameters Claude Code sends (`?beta=true`); anything else is refused. */
const ALLOWED_QUERY_KEYS: ReadonlySet<string> = new Set(["beta"]);

/** Hop-by-hop headers (RFC 9110 §7.6.1) plus what the proxy sets itself; never forwarded either way. */
const HOP_BY_HOP = [
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
];
const STRIPPED_FROM_REQUEST = new Set([
  ...HOP_BY_HOP,
  "host",
  "content-length",
  "accept-encoding",
  "x-api-key",
  "authorization",
  "cookie",
  "forwarded",
  "x-forwarded-for",
  "x-forwarded-host",
  "x-forwarded-proto",
]);
const STRIPPED_FROM_RESPONSE = new Set([...HOP_BY_HOP, "content-length", "content-encoding", "set-cookie"]);

export class EgressConfigError extends UserError {
  override name = "EgressConfigError";
  constructor(what: string, fix: string) {
    super("EGRESS", what, fix);
  }
}

/** `host:port` of a URL, with the scheme's default port made explicit. */
export function hostPort(url: URL): string {
  const port = url.port !== "" ? url.port : url.protocol === "https:" ? "443" : "80";
  return `${url.hostname.toLowerCase()}:${port}`;
}

/** Parses the upstream base URL and checks it against the allowlist; throws EgressConfigError otherwise. */
export function checkUpstream(upstream: string, allowlist: readonly string[]): URL {
  let url: URL;
  try {
    url = new URL(upstream);
  } catch {
    throw new EgressConfigError(
      `the upstream "${upstream}" is not a URL`,
      "set [network] upstream_url to an https:// URL",
    );
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new EgressConfigError(
      `the upstream scheme ${url.protocol} is not http or https`,
      "set [network] upstream_url to an https:// URL",
    );
  }
  if (url.username !== "" || url.password !== "" || url.search !== "" || url.hash !== "") {
    throw new EgressConfigError(
      "the upstream URL carries credentials, a query or a fragment",
      "set [network] upstream_url to a plain base URL such as https://api.anthropic.com",
    );
  }
  const target = hostPort(url);
  if (!allowlist.map((entry) => entry.toLowerCase()).includes(target)) {
    throw new EgressConfigError(
      `the upstream ${target} is not in [network] upstream_allowlist (${allowlist.join(", ") || "empty"})`,
      `add "${target}" to [network] upstream_allowlist or change [network] upstream_url`,
    );
  }
  return url;
}

/** The token the container presented: `x-api-key`, or `Authorization: Bearer …`. */
export function presentedToken(headers: Headers): string | null {
  const apiKey = headers.get("x-api-key");
  if (apiKey !== null && apiKey !== "") return apiKey;
  const auth = headers.get("authorization");
  const match = auth === null ? null : /^Bearer\s+(\S+)\s*$/i.exec(auth);
  return match?.[1] ?? null;
}

/** Constant-time comparison of digests, so neither content nor length leaks through timing. */
export function tokenMatches(presented: string | null, expected: string): boolean {
  if (presented === null) return false;
  const a = createHash("sha256").update(presented).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

export type RouteCheck = { ok: true } | { ok: false; status: 403 | 404 | 405; reason: string };

export function checkRoute(method: string, url: URL): RouteCheck {
  if (!ALLOWED_PATHS.has(url.pathname)) return { ok: false, status: 404, reason: "path not allowed" };
  if (method !== "POST") return { ok: false, status: 405, reason: "method not allowed" };
  for (const key of url.searchParams.keys()) {
    if (!ALLOWED_QUERY_KEYS.has(key)) return { ok: false, status: 403, reason: `query parameter "${key}" not allowed` };
  }
  return { ok: true };
}

export function forwardedRequestHeaders(incoming: Headers): Headers {
  const out = new Headers();
  const connectionListed = listedInConnection(incoming);
  for (const [name, value] of incoming) {
    if (!STRIPPED_FROM_REQUEST.has(name) && !connectionListed.has(name)) out.set(name, value);
  }
  out.set("accept-encoding", "identity");
  return out;
}

export function returnedResponseHeaders(upstream: Headers): Headers {
  const out = new Headers();
  const connectionListed = listedInConnection(upstream);
  for (const [name, value] of upstream) {
    if (!STRIPPED_FROM_RESPONSE.has(name) && !connectionListed.has(name)) out.append(name, value);
  }
  return out;
}

/** Headers named in `Connection:` are hop-by-hop too. */
function listedInConnection(headers: Headers): Set<string> {
  const value = headers.get("connection") ?? "";
  return new Set(
    value
      .split(",")
      .map((s) => s.trim().toLowerCase())
      .filter((s) => s !== ""),
  );
}
