import { escapePointer } from "../../protocol/wire.ts";
import { CREDENTIAL_PATTERNS, PEM_KIND, redacted } from "./credential-patterns.ts";
import { hasKnownSecrets, knownSecretRanges, STORED_SECRET_KIND, scrubKnownSecrets } from "./known-secrets.ts";

/**
 * The response-path sanitizer: a deep copy of a JSON-ish value with credential patterns
 * scrubbed from every string, plus the JSON pointers of what was touched (never the values).
 */
export interface SanitizeResult {
  value: unknown;
  paths: string[];
}

/** Deeper than this is cut (the copy holds a marker); inputs are already JSON-depth-limited far below. */
export const MAX_SANITIZE_DEPTH = 128;

// One cheap scan that rules out the common case: a string with none of these literals cannot match.
const TRIGGER =
  /bearer|basic|_live_|_test_|sk-|gh[pousr]_|github_pat_|xox|xapp-|aiza|akia|asia|:\/\/|key|token|secret|passw|-----begin/i;
const MIN_CREDENTIAL_LENGTH = 8;

const PEM_BEGIN = /-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY-----/g;
const PEM_END = /-----END [A-Z0-9 ]{0,40}PRIVATE KEY-----/g;

// A value under a key with one of these (normalized) endings is a secret as a whole.
const SECRET_KEY_ENDINGS = [
  "password",
  "passwd",
  "passphrase",
  "secret",
  "token",
  "apikey",
  "authorization",
  "privatekey",
  "credential",
  "credentials",
  "cookie",
];
// Pagination and sync cursors are called tokens but are not credentials.
const NOT_SECRET_KEY_ENDINGS = ["pagetoken", "synctoken", "continuationtoken", "cursortoken"];

export function isSecretKey(key: string): boolean {
  if (key.length > 128) return false;
  const normalized = key.toLowerCase().replace(/[^a-z0-9]/g, "");
  if (NOT_SECRET_KEY_ENDINGS.some((e) => normalized.endsWith(e))) return false;
  return SECRET_KEY_ENDINGS.some((e) => normalized.endsWith(e));
}

function scrubPatterns(text: string): string {
  if (text.length < MIN_CREDENTIAL_LENGTH || !TRIGGER.test(text)) return text;
  let out = scrubPem(text);
  const lower = out.toLowerCase();
  for (const pattern of CREDENTIAL_PATTERNS) {
    if (!pattern.needles.some((n) => lower.includes(n))) continue;
    pattern.regex.lastIndex = 0;
    out = out.replace(pattern.regex, (match: string, ...rest: unknown[]) => {
      // replace() passes the capture groups, then the offset (the first number), then the input.
      const offsetAt = rest.findIndex((g) => typeof g === "number");
      const groups = rest.slice(0, offsetAt).map((g) => (typeof g === "string" ? g : ""));
      return pattern.replace(match, ...groups) ?? match;
    });
  }
  return out;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: the ASCII range is the point.
const NON_ASCII = /[^\x00-\x7f]/;
// Zero-width and invisible characters a copy of a secret can be split with (removed before matching).
const INVISIBLE =
  // biome-ignore lint/suspicious/noMisleadingCharacterClass: each combining or joining character is removed on its own.
  /[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0]/g;

/**
 * Scrubs credential patterns and the core's stored secrets from one string; `changed` says whether
 * anything was replaced. Text with non-ASCII characters is also matched after NFKC normalization
 * (fullwidth letters become ASCII) with invisible characters removed; when that form holds a secret
 * the original does not show, the normalized, scrubbed text is what is kept.
 */
export function scrubString(text: string): { text: string; changed: boolean } {
  const direct = scrubKnownSecrets(scrubPatterns(text));
  if (NON_ASCII.test(direct)) {
    const normalized = direct.normalize("NFKC").replace(INVISIBLE, "");
    if (normalized !== direct) {
      const again = scrubKnownSecrets(scrubPatterns(normalized));
      if (again !== normalized) return { text: again, changed: true };
    }
  }
  // A stored secret split by spaces or line breaks inside one string: the whole string goes.
  if (hasKnownSecrets() && WHITESPACE.test(direct)) {
    const joined = direct.replace(WHITESPACE_RUNS, "");
    if (knownSecretRanges(joined).length > 0) return { text: redacted(STORED_SECRET_KIND), changed: true };
  }
  return { text: direct, changed: direct !== text };
}

const WHITESPACE = /\s/;
const WHITESPACE_RUNS = /\s+/g;

/**
 * A stored secret split across several strings of one value (["Zq8vN2pL", "/x7+WkR4tY=9hB"]): the
 * string leaves are read in order as one text, and every leaf that holds part of a match is redacted.
 */
function redactSplitSecrets(value: unknown, paths: string[]): void {
  if (!hasKnownSecrets() || typeof value !== "object" || value === null) return;
  const leaves: { holder: Record<string, unknown>; key: string; path: string; text: string }[] = [];
  const walk = (v: unknown, path: string) => {
    if (typeof v !== "object" || v === null) return;
    for (const key of Object.keys(v)) {
      const child = (v as Record<string, unknown>)[key];
      const at = `${path}/${escapePointer(key)}`;
      if (typeof child === "string") leaves.push({ holder: v as Record<string, unknown>, key, path: at, text: child });
      else walk(child, at);
    }
  };
  walk(value, "");
  if (leaves.length < 2) return;
  const ranges = knownSecretRanges(leaves.map((l) => l.text).join(""));
  if (ranges.length === 0) return;
  let offset = 0;
  for (const leaf of leaves) {
    const start = offset;
    offset += leaf.text.length;
    if (ranges.some(([a, b]) => a < offset && b > start)) {
      // A literal "__proto__" key stays a plain property (see visit).
      Object.defineProperty(leaf.holder, leaf.key, {
        value: redacted(STORED_SECRET_KIND),
        enumerable: true,
        writable: true,
        configurable: true,
      });
      paths.push(leaf.path);
    }
  }
}

/** For log lines and error text: the same scrubbing, string in, string out. */
export function sanitizeText(text: string): string {
  return scrubString(text).text;
}

/**
 * PEM private keys are removed by scanning for the markers rather than with one regex, so a flood of
 * BEGIN markers without an END stays linear. A BEGIN without END redacts to the end of the string.
 */
function scrubPem(text: string): string {
  if (!text.includes("-----BEGIN")) return text;
  let out = "";
  let from = 0;
  for (;;) {
    PEM_BEGIN.lastIndex = from;
    const begin = PEM_BEGIN.exec(text);
    if (!begin) break;
    PEM_END.lastIndex = begin.index + begin[0].length;
    const end = PEM_END.exec(text);
    out += text.slice(from, begin.index) + redacted(PEM_KIND);
    if (!end) return out;
    from = end.index + end[0].length;
  }
  return from === 0 ? text : out + text.slice(from);
}

/** Deep copy of `value` with every string scrubbed; cycles and excessive depth are cut, not followed. */
export function sanitize(value: unknown): SanitizeResult {
  const paths: string[] = [];
  const ancestors = new Set<object>();

  const visit = (v: unknown, path: string, depth: number, secretKey: boolean): unknown => {
    if (typeof v === "string") {
      if (secretKey && v.length > 0) {
        paths.push(path);
        return redacted("secret_field");
      }
      const { text, changed } = scrubString(v);
      if (changed) paths.push(path);
      return text;
    }
    if (typeof v !== "object" || v === null) {
      // Functions and symbols have no JSON form; drop them as JSON.stringify would.
      return typeof v === "function" || typeof v === "symbol" ? undefined : v;
    }
    if (depth >= MAX_SANITIZE_DEPTH) {
      paths.push(path);
      return redacted("too_deep");
    }
    if (ancestors.has(v)) {
      paths.push(path);
      return redacted("cycle");
    }
    const toJSON = (v as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === "function") {
      return visit(toJSON.call(v), path, depth, secretKey);
    }
    ancestors.add(v);
    try {
      if (Array.isArray(v)) {
        const copy = new Array<unknown>(v.length);
        for (let i = 0; i < v.length; i++) copy[i] = visit(v[i], `${path}/${i}`, depth + 1, secretKey);
        return copy;
      }
      const copy: Record<string, unknown> = {};
      for (const original of Object.keys(v)) {
        // A key is agent- or handler-written text too: a secret used as a key is scrubbed like a value.
        const scrubbedKey = scrubString(original);
        let key = original;
        if (scrubbedKey.changed) {
          paths.push(`${path}/${escapePointer(redacted("key"))}`);
          key = scrubbedKey.text;
          for (let n = 2; Object.hasOwn(copy, key); n++) key = `${scrubbedKey.text}#${n}`;
        }
        const child = visit(
          (v as Record<string, unknown>)[original],
          `${path}/${escapePointer(key)}`,
          depth + 1,
          secretKey || isSecretKey(original),
        );
        if (child === undefined) continue;
        // A literal "__proto__" key from JSON.parse stays a plain property instead of setting the prototype.
        if (key === "__proto__") {
          Object.defineProperty(copy, key, { value: child, enumerable: true, writable: true, configurable: true });
        } else {
          copy[key] = child;
        }
      }
      return copy;
    } finally {
      ancestors.delete(v);
    }
  };

  const copy = visit(value, "", 0, false);
  redactSplitSecrets(copy, paths);
  return { value: copy, paths };
}
