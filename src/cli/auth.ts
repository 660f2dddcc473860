/**
 * `carapace auth api-key|login|status`: stores and reports the real Anthropic credential, which stays on
 * the host (only the egress proxy uses it; the container gets a per-session token). A new credential
 * is verified by one `POST /v1/messages/count_tokens` through the egress proxy itself, towards the
 * configured [network] upstream, before it is stored. Values are never printed, only masked.
 */
import { randomBytes } from "node:crypto";
import { lstatSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defineCommand } from "citty";
import {
  API_KEY_CREDENTIAL,
  type CredentialKind,
  egressCredentialFor,
  OAUTH_TOKEN_CREDENTIAL,
  readAnthropicCredential,
} from "../agent/egress-credential.ts";
import { EgressConfigError } from "../agent/egress-policy.ts";
import { startEgressProxy } from "../agent/egress-proxy.ts";
import { credentialsDir, readCredential, writeCredential } from "../config/credentials.ts";
import { loadConfig } from "../config/load.ts";
import { whatOf } from "../errors/user-error.ts";
import { CliError, EXIT, type ExitCode, exitCodeOf, formatError } from "./errors.ts";
import { withHome } from "./run-command.ts";
import { readSecret, SecretInputAborted } from "./secret-input.ts";

export interface AuthIo {
  out(line: string): void;
  err(line: string): void;
  /** The secret from stdin (piped) or a hidden terminal prompt. */
  readSecret(prompt: string): Promise<string>;
}

const consoleIo: AuthIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  readSecret,
};

/** Claude Code's default model for the pinned version; count_tokens needs a model name. */
const VERIFY_MODEL = "claude-opus-5-5";
const VERIFY_TIMEOUT_MS = 15_000;
const SECRET_SHAPE = /^[\x21-\x7e]{8,4096}$/;

const KINDS = {
  "api-key": {
    credential: API_KEY_CREDENTIAL,
    label: "Anthropic API key",
    prompt: "Anthropic API key (input hidden): ",
  },
  "oauth-token": {
    credential: OAUTH_TOKEN_CREDENTIAL,
    label: "Claude OAuth token",
    prompt: "OAuth token from `claude setup-token` (input hidden): ",
  },
} as const satisfies Record<CredentialKind, { credential: string; label: string; prompt: string }>;

/** `sk-…abcd`: the "sk-" prefix when present and the last four characters, and only for long values. */
export function maskSecret(value: string): string {
  if (value.length < 16) return "…";
  return `${value.startsWith("sk-") ? "sk-" : ""}…${value.slice(-4)}`;
}

export type Verification = { ok: true } | { ok: false; rejected: boolean; detail: string };

/** One count_tokens call through a throw-away egress proxy: the same path, allowlist and header swap as a session. */
export async function verifyCredential(home: string, kind: CredentialKind, value: string): Promise<Verification> {
  const { network } = loadConfig(home);
  const dir = mkdtempSync(join(tmpdir(), "carapace-auth-"));
  const token = randomBytes(24).toString("hex");
  const credential = egressCredentialFor(kind, value);
  try {
    const proxy = await startEgressProxy({
      socketPath: join(dir, "egress.sock"),
      token,
      upstream: network.upstream_url,
      allowlist: network.upstream_allowlist,
      credential: async () => ({ header: credential.header, value: credential.value }),
    });
    try {
      const headers: Record<string, string> = { "content-type": "application/json", "anthropic-version": "2023-06-01" };
      if (kind === "api-key") headers["x-api-key"] = token;
      else {
        headers.authorization = `Bearer ${token}`;
        headers["anthropic-beta"] = "oauth-2025-04-20";
      }
      const res = await fetch("http://localhost/v1/messages/count_tokens", {
        unix: join(dir, "egress.sock"),
        method: "POST",
        headers,
        body: JSON.stringify({ model: VERIFY_MODEL, messages: [{ role: "user", content: "ping" }] }),
        signal: AbortSignal.timeout(VERIFY_TIMEOUT_MS),
      });
      const body = await res.text();
      if (res.ok) return { ok: true };
      const type = (() => {
        try {
          return String((JSON.parse(body) as { error?: { type?: unknown } }).error?.type ?? "");
        } catch {
          return "";
        }
      })();
      const detail = `${network.upstream_url} answered ${res.status}${type ? ` (${type})` : ""}`;
      return { ok: false, rejected: res.status === 401 || res.status === 403, detail };
    } finally {
      await proxy.close();
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof EgressConfigError)
      throw new CliError("AUTH", whatOf(error), "fix [network] in config.toml (carapace config get network)");
    return {
      ok: false,
      rejected: false,
      detail: `${network.upstream_url} could not be reached (${message.slice(0, 200)})`,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function refuseArgv(extra: readonly string[]): void {
  if (extra.length > 0) {
    throw new CliError(
      "AUTH",
      "secrets are not taken from the command line (they would end up in shell history and `ps`)",
      "pipe it on stdin, e.g. `carapace auth api-key < key.txt`, or run the command on a terminal to be prompted",
      EXIT.usage,
    );
  }
}

export async function runAuthStore(
  home: string,
  kind: CredentialKind,
  opts: { verify: boolean; extraArgs?: readonly string[] },
  io: AuthIo = consoleIo,
): Promise<ExitCode> {
  const { credential, label, prompt } = KINDS[kind];
  try {
    refuseArgv(opts.extraArgs ?? []);
    let value: string;
    try {
      value = await io.readSecret(prompt);
    } catch (error) {
      if (error instanceof SecretInputAborted)
        throw new CliError("AUTH", "input aborted; nothing was stored", "run the command again", EXIT.failure);
      throw error;
    }
    if (value === "")
      throw new CliError(
        "AUTH",
        `no ${label} was given on stdin`,
        `pipe it in: carapace auth ${kind === "api-key" ? "api-key" : "login"} < file`,
        EXIT.usage,
      );
    if (!SECRET_SHAPE.test(value)) {
      throw new CliError(
        "AUTH",
        `that does not look like a ${label} (8-4096 printable characters, no spaces)`,
        "paste the value exactly as issued",
        EXIT.usage,
      );
    }
    if (opts.verify) {
      const result = await verifyCredential(home, kind, value);
      if (!result.ok) {
        throw new CliError(
          "AUTH",
          result.rejected
            ? `the ${label} ${maskSecret(value)} was rejected: ${result.detail}; nothing was stored`
            : `the ${label} could not be verified: ${result.detail}; nothing was stored`,
          result.rejected
            ? `check the ${kind === "api-key" ? "key in the Anthropic Console" : "token (run `claude setup-token` again)"}`
            : "check [network] upstream_url and your connection, or pass --no-verify to store it unchecked",
        );
      }
    }
    writeCredential(home, credential, value);
    io.out(
      `Stored the ${label} ${maskSecret(value)} in ${join(credentialsDir(home), credential)} (0600)${opts.verify ? ", verified" : ", not verified (--no-verify)"}.`,
    );
    const active = readAnthropicCredential(home);
    if (active !== null && active.kind !== kind) {
      io.err(`Note: an ${KINDS[active.kind].label} is also stored and takes precedence; sessions use that one.`);
    }
    return EXIT.ok;
  } catch (error) {
    io.err(formatError(error));
    return exitCodeOf(error);
  }
}

export interface CredentialStatus {
  kind: CredentialKind;
  name: string;
  stored: boolean;
  /** Octal file mode, e.g. "0600". */
  mode?: string;
  masked?: string;
  /** The one sessions use (an API key wins over an OAuth token). */
  active: boolean;
}

export function authStatus(home: string): { credentials: CredentialStatus[]; upstream: string } {
  const active = readAnthropicCredential(home);
  const credentials = (Object.keys(KINDS) as CredentialKind[]).map((kind): CredentialStatus => {
    const name = KINDS[kind].credential;
    const value = readCredential(home, name)?.trim();
    if (!value) return { kind, name, stored: false, active: false };
    const mode = `0${(lstatSync(join(credentialsDir(home), name)).mode & 0o777).toString(8)}`;
    return { kind, name, stored: true, mode, masked: maskSecret(value), active: active?.kind === kind };
  });
  return { credentials, upstream: loadConfig(home).network.upstream_url };
}

/** Exit codes: 0 a credential is stored, 1 none is stored (or the store or config is unsafe/invalid). */
export function runAuthStatus(home: string, json: boolean, io: Pick<AuthIo, "out" | "err"> = consoleIo): ExitCode {
  try {
    const status = authStatus(home);
    const any = status.credentials.some((c) => c.stored);
    if (json) io.out(JSON.stringify(status));
    else {
      for (const c of status.credentials) {
        io.out(
          c.stored
            ? `${KINDS[c.kind].label}: stored (${c.masked}, mode ${c.mode})${c.active ? ", used by sessions" : ", not used (an API key takes precedence)"}`
            : `${KINDS[c.kind].label}: not stored`,
        );
      }
      io.out(`Upstream: ${status.upstream}`);
      if (!any) io.err("No credential is stored. Fix: run `carapace auth api-key` (or `carapace auth login`).");
    }
    return any ? EXIT.ok : EXIT.failure;
  } catch (error) {
    io.err(formatError(error));
    return exitCodeOf(error);
  }
}

const verifyArg = {
  type: "boolean",
  description: "Verify with one count_tokens call through the configured upstream (--no-verify skips it)",
  default: true,
} as const;

export const authApiKeyCommand = defineCommand({
  meta: {
    name: "api-key",
    description:
      "Store an Anthropic API key, read from stdin or a hidden prompt (never from the command line). " +
      "It stays on the host; containers get a per-session token. " +
      "Exit codes: 0 stored; 1 rejected, not verifiable or not writable (nothing stored); 2 usage error (empty or malformed input, a key on the command line).",
  },
  args: { verify: verifyArg },
  async run({ args }) {
    await withHome((home) => runAuthStore(home, "api-key", { verify: args.verify, extraArgs: args._ }));
  },
});

export const authLoginCommand = defineCommand({
  meta: {
    name: "login",
    description:
      "Store a Claude subscription OAuth token: run `claude setup-token` on a machine with a browser, then pipe the token it prints into this command " +
      "(or paste it at the hidden prompt). It stays on the host; containers get a per-session token. " +
      "Exit codes: 0 stored; 1 rejected, not verifiable or not writable (nothing stored); 2 usage error (empty or malformed input, a token on the command line).",
  },
  args: { verify: verifyArg },
  async run({ args }) {
    await withHome((home) => runAuthStore(home, "oauth-token", { verify: args.verify, extraArgs: args._ }));
  },
});

export const authStatusCommand = defineCommand({
  meta: {
    name: "status",
    description:
      "Show which Anthropic credential is stored (masked like sk-…abcd, with its file mode) and which one sessions use. " +
      "Exit codes: 0 a credential is stored; 1 none is stored, or the credential store or config is unsafe or invalid.",
  },
  args: { json: { type: "boolean", description: "Print JSON", default: false } },
  async run({ args }) {
    await withHome((home) => runAuthStatus(home, args.json));
  },
});

export const authCommand = defineCommand({
  meta: {
    name: "auth",
    description: "Store and report the Anthropic credential the host's egress proxy uses (never given to containers).",
  },
  subCommands: { "api-key": authApiKeyCommand, login: authLoginCommand, status: authStatusCommand },
});
