/**
 * Credential patterns scrubbed from everything that leaves the core (the response path).
 *
 * Every pattern is anchored on a literal prefix and uses only bounded quantifiers, so matching stays
 * linear in the input (no ReDoS): each start position does at most a few hundred steps of work and can
 * only start where the literal occurs. `needle` is that literal (lower-case); a string that contains no
 * needle is never run through the pattern.
 */
export interface CredentialPattern {
  readonly kind: string;
  /** Lower-case literals; the pattern runs only if the lower-cased text contains one of them. */
  readonly needles: readonly string[];
  readonly regex: RegExp;
  /** Builds the replacement for one match (groups as in String.replace). */
  readonly replace: (match: string, ...groups: string[]) => string | null;
}

export const redacted = (kind: string): string => `[REDACTED:${kind}]`;

/** Replacement that keeps capture group 1 (a prefix such as `Bearer `) and redacts the rest. */
function keepPrefix(kind: string) {
  return (_match: string, prefix: string) => `${prefix}${redacted(kind)}`;
}

/** Real keys mix letters and digits; this keeps words such as `sk-learn-tutorial-for-beginners` intact. */
function hasDigit(s: string): boolean {
  return /\d/.test(s);
}

// Names a value follows in `name=value`, `name: value`, `"name": "value"`, header lines.
const SECRET_ASSIGNMENT_NAMES =
  "x-api-key|api[_-]?key|apikey|access[_-]?token|refresh[_-]?token|auth[_-]?token|id[_-]?token|" +
  "client[_-]?secret|secret[_-]?key|aws_secret_access_key|aws_session_token|private[_-]?key|password|passwd";

/** `aws_secret_access_key=` → aws_secret, `X-API-Key:` → api_key, `access_token=` → token, … */
function assignmentKind(prefix: string): string {
  const name = prefix.toLowerCase().replace(/[^a-z]/g, "");
  if (name.startsWith("awssecret")) return "aws_secret";
  if (name.includes("apikey")) return "api_key";
  if (name.includes("token")) return "token";
  if (name.includes("passw")) return "password";
  return "secret";
}

export const CREDENTIAL_PATTERNS: readonly CredentialPattern[] = [
  {
    kind: "bearer",
    needles: ["bearer"],
    regex: /\b(bearer[ \t]{1,16})([A-Za-z0-9\-._~+/]{8,4096}=*)/gi,
    replace: keepPrefix("bearer"),
  },
  {
    kind: "basic_auth",
    needles: ["basic"],
    regex: /\b(authorization["']?[ \t]{0,4}[:=][ \t]{0,4}["']?basic[ \t]{1,16})([A-Za-z0-9+/]{8,4096}=*)/gi,
    replace: keepPrefix("basic_auth"),
  },
  {
    kind: "stripe_key",
    needles: ["_live_", "_test_"],
    regex: /\b(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{10,256}/g,
    replace: () => redacted("stripe_key"),
  },
  {
    kind: "sk_key",
    needles: ["sk-"],
    regex: /\bsk-(?:ant-|proj-)?[A-Za-z0-9_-]{20,512}/g,
    replace: (m) => (hasDigit(m) ? redacted("sk_key") : null),
  },
  {
    kind: "github_token",
    needles: ["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"],
    regex: /\b(?:gh[pousr]_[A-Za-z0-9]{30,255}|github_pat_[A-Za-z0-9_]{22,255})/g,
    replace: () => redacted("github_token"),
  },
  {
    kind: "slack_token",
    needles: ["xox", "xapp-"],
    regex: /\b(?:xox[abprs]|xapp)-[A-Za-z0-9-]{10,255}/g,
    replace: (m) => (hasDigit(m) ? redacted("slack_token") : null),
  },
  {
    kind: "google_api_key",
    needles: ["aiza"],
    regex: /\bAIza[0-9A-Za-z_-]{35}/g,
    replace: () => redacted("google_api_key"),
  },
  {
    kind: "aws_access_key_id",
    needles: ["akia", "asia"],
    regex: /\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g,
    replace: () => redacted("aws_access_key_id"),
  },
  {
    kind: "uri_password",
    needles: ["://"],
    // scheme://user:password@host — keep scheme, user and host, redact the password.
    regex: /\b([a-z][a-z0-9+.-]{1,31}:\/\/[^\s:@/?#"'<>]{0,256}:)([^\s@/?#"'<>]{1,256})@/gi,
    replace: (_m, prefix: string) => `${prefix}${redacted("uri_password")}@`,
  },
  {
    kind: "secret_assignment",
    needles: ["key", "token", "secret", "passw"],
    regex: new RegExp(
      // `[:=]`, or their URL encodings (`%26api_key%3D…` in an encoded query string or form body).
      `(?:\\b|(?<=%[0-9A-Fa-f]{2}))((?:${SECRET_ASSIGNMENT_NAMES})["']?[ \\t]{0,4}(?:[:=]|%3[AaDd])[ \\t]{0,4}["']?)([^\\s"'&,;<>\\[\\]{}]{1,4096})`,
      "gi",
    ),
    replace: (_m, prefix: string) => `${prefix}${redacted(assignmentKind(prefix))}`,
  },
];

export const PEM_KIND = "private_key";
