import { statSync } from "node:fs";
import { credentialsDir, listCredentials, readCredential } from "../../config/credentials.ts";

/**
 * The secrets the core itself stores (the credential store's values), scrubbed wherever they appear
 * in a reply, error, log line or audit record, whatever a pattern would say. Besides the exact value,
 * the forms a handler could pass it on in are matched: base64 (standard and URL-safe, at every byte
 * alignment, so a secret inside a longer encoded blob is found too), hex and URL encoding. The variant
 * set is computed once when the credentials are loaded; scanning a string is one regular expression.
 */

export const STORED_SECRET_KIND = "stored_secret";
/** Shorter values are not scrubbed: a 3-letter "credential" would redact ordinary words everywhere. */
export const MIN_SECRET_LENGTH = 8;
/** Shortest encoded fragment matched (interior base64 of a short secret can be close to this). */
const MIN_VARIANT_LENGTH = 8;

const AUTH_SCHEME = /^(?:Bearer|Basic|Token|Bot|token|bearer)\s+(\S+)$/;

let matcher: RegExp | null = null;
let shortest = Number.POSITIVE_INFINITY;
let version = 0;

/** Changes whenever the set of known secrets is replaced: what was scrubbed under an older set is stale. */
export function knownSecretsVersion(): number {
  return version;
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");
}

/**
 * The base64 characters that depend only on the secret when it sits at byte offset `shift` (0-2) of a
 * longer message: the characters mixing in a neighbour's bits at either end are dropped.
 */
function base64Interior(secret: Buffer, shift: number): string[] {
  const padded = Buffer.concat([Buffer.alloc(shift), secret]);
  const text = padded.toString("base64").replace(/=+$/, "");
  const lead = shift === 0 ? 0 : shift === 1 ? 2 : 3;
  const pureChars = Math.floor(((shift + secret.length) * 8) / 6);
  const interior = text.slice(lead, pureChars);
  return [interior, interior.replace(/\+/g, "-").replace(/\//g, "_")];
}

/** Every form of one secret that is scrubbed. */
export function secretVariants(secret: string): string[] {
  const bytes = Buffer.from(secret, "utf8");
  const hex = bytes.toString("hex");
  const variants = new Set<string>([secret, hex, hex.toUpperCase(), encodeURIComponent(secret)]);
  variants.add(encodeURIComponent(secret).replace(/%20/g, "+"));
  variants.add(JSON.stringify(secret).slice(1, -1));
  for (const shift of [0, 1, 2]) for (const v of base64Interior(bytes, shift)) variants.add(v);
  return [...variants].filter((v) => v.length >= MIN_VARIANT_LENGTH);
}

/** Replaces the set of known secrets (values shorter than MIN_SECRET_LENGTH are ignored). */
export function setKnownSecrets(values: readonly string[]): void {
  version++;
  const variants = new Set<string>();
  for (const raw of values) {
    const value = raw.trim();
    // An HTTP credential stored with its scheme ("Bearer <token>"): the token alone is the secret too.
    const token = AUTH_SCHEME.exec(value)?.[1];
    for (const secret of token ? [value, token] : [value]) {
      if (secret.length < MIN_SECRET_LENGTH) continue;
      for (const v of secretVariants(secret)) variants.add(v);
    }
  }
  if (variants.size === 0) {
    matcher = null;
    shortest = Number.POSITIVE_INFINITY;
    return;
  }
  const sorted = [...variants].sort((a, b) => b.length - a.length);
  shortest = sorted[sorted.length - 1]?.length ?? Number.POSITIVE_INFINITY;
  matcher = new RegExp(sorted.map(escapeRegex).join("|"), "g");
}

/** Exact (and encoded) occurrences of a stored secret in `text`, redacted. */
export function scrubKnownSecrets(text: string): string {
  if (matcher === null || text.length < shortest) return text;
  matcher.lastIndex = 0;
  if (!matcher.test(text)) return text;
  matcher.lastIndex = 0;
  return text.replace(matcher, `[REDACTED:${STORED_SECRET_KIND}]`);
}

export function hasKnownSecrets(): boolean {
  return matcher !== null;
}

/** Where stored secrets (in any of their forms) occur in `text`, as [start, end) ranges. */
export function knownSecretRanges(text: string): [number, number][] {
  if (matcher === null || text.length < shortest) return [];
  const ranges: [number, number][] = [];
  matcher.lastIndex = 0;
  for (let m = matcher.exec(text); m !== null; m = matcher.exec(text)) {
    ranges.push([m.index, m.index + m[0].length]);
    if (m[0].length === 0) matcher.lastIndex++;
  }
  return ranges;
}

/** Reads every stored credential's value (unreadable ones are skipped: the store's checks report them). */
export function loadKnownSecrets(home: string): void {
  const values: string[] = [];
  let names: string[] = [];
  try {
    names = listCredentials(home);
  } catch {
    names = [];
  }
  for (const name of names) {
    try {
      const value = readCredential(home, name);
      if (value !== null) values.push(value);
    } catch {
      // refused (link, owner, mode): the core's start checks and `carapace doctor` say why
    }
  }
  setKnownSecrets(values);
}

/**
 * Loads the store now and again whenever the credentials directory changes (a store or a delete
 * renames or unlinks an entry, which changes the directory's mtime). Returns a stop function.
 */
export function watchKnownSecrets(home: string, intervalMs = 1000): () => void {
  const dir = credentialsDir(home);
  const stamp = () => {
    try {
      return statSync(dir).mtimeMs;
    } catch {
      return -1;
    }
  };
  let seen = stamp();
  loadKnownSecrets(home);
  const timer = setInterval(() => {
    const now = stamp();
    if (now === seen) return;
    seen = now;
    loadKnownSecrets(home);
  }, intervalMs);
  timer.unref?.();
  return () => clearInterval(timer);
}
