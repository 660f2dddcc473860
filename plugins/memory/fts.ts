/**
 * Turns whatever the agent typed into a safe FTS5 query: only letter/number runs survive, each is
 * wrapped in double quotes (a quoted string is always a plain phrase in FTS5), so quotes, NEAR,
 * column filters (`content:`), `*`, `^`, parentheses and AND/OR/NOT lose their meaning and the query
 * can never fail to parse. Returns null when nothing searchable is left.
 */
export const MAX_QUERY_TOKENS = 16;
const MAX_TOKEN_CHARS = 64;
const TOKEN = /[\p{L}\p{N}][\p{L}\p{N}\p{M}]*/gu;

export type MatchMode = "all" | "any";

export function queryTokens(raw: string): string[] {
  const seen = new Set<string>();
  for (const match of raw.normalize("NFKC").matchAll(TOKEN)) {
    seen.add(match[0].slice(0, MAX_TOKEN_CHARS).toLowerCase());
    if (seen.size === MAX_QUERY_TOKENS) break;
  }
  return [...seen];
}

/** Each token as its own one-token FTS5 phrase, in query order. */
export function ftsPhrases(tokens: readonly string[]): string[] {
  return tokens.map((token) => `"${token}"`);
}

export function joinPhrases(phrases: readonly string[], mode: MatchMode): string {
  return phrases.join(mode === "all" ? " " : " OR ");
}

export function toFtsQuery(raw: string, mode: MatchMode = "all"): string | null {
  const tokens = queryTokens(raw);
  if (tokens.length === 0) return null;
  return joinPhrases(ftsPhrases(tokens), mode);
}
