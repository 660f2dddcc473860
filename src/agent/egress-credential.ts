/**
 * The real Anthropic credential the egress proxy swaps in, read from the credential store on each call
 * (so `carapace auth …` takes effect without a restart). An API key wins over an OAuth token, as in
 * Claude Code itself. `containerEnv` is the variable name under which the container receives the
 * per-session token, so Claude Code sends it in the header the proxy replaces.
 */
import { readCredential } from "../config/credentials.ts";
import type { EgressCredential } from "./egress-proxy.ts";

export const API_KEY_CREDENTIAL = "anthropic_api_key";
export const OAUTH_TOKEN_CREDENTIAL = "anthropic_oauth_token";

export type CredentialKind = "api-key" | "oauth-token";

export interface StoredAnthropicCredential extends EgressCredential {
  kind: CredentialKind;
  /** The entrypoint's stdin name for the session token: ANTHROPIC_API_KEY or CLAUDE_CODE_OAUTH_TOKEN. */
  containerEnv: "ANTHROPIC_API_KEY" | "CLAUDE_CODE_OAUTH_TOKEN";
}

export function egressCredentialFor(kind: CredentialKind, value: string): StoredAnthropicCredential {
  return kind === "api-key"
    ? { kind, header: "x-api-key", value, containerEnv: "ANTHROPIC_API_KEY" }
    : { kind, header: "authorization", value: `Bearer ${value}`, containerEnv: "CLAUDE_CODE_OAUTH_TOKEN" };
}

/** The credential to use now, or null when none is stored. Throws CredentialError on an unsafe store. */
export function readAnthropicCredential(home: string): StoredAnthropicCredential | null {
  const apiKey = readCredential(home, API_KEY_CREDENTIAL)?.trim();
  if (apiKey) return egressCredentialFor("api-key", apiKey);
  const oauth = readCredential(home, OAUTH_TOKEN_CREDENTIAL)?.trim();
  if (oauth) return egressCredentialFor("oauth-token", oauth);
  return null;
}
