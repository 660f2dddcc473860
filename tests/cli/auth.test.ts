import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { statSync } from "node:fs";
import { join } from "node:path";
import { renderUsage } from "citty";
import { readAnthropicCredential } from "../../src/agent/egress-credential.ts";
import { type ScriptedModel, startScriptedModel } from "../../src/agent/scripted-model.ts";
import {
  type AuthIo,
  authApiKeyCommand,
  authLoginCommand,
  authStatusCommand,
  maskSecret,
  runAuthStatus,
  runAuthStore,
} from "../../src/cli/auth.ts";
import { readPipedSecret } from "../../src/cli/secret-input.ts";
import { readCredential } from "../../src/config/credentials.ts";
import { setConfigValue } from "../../src/config/edit.ts";
import { tempHome } from "../config/temp-home.ts";

const KEY = "sk-ant-api03-test-key-0000000000abcd";
const OAUTH = "sk-ant-oat01-test-oauth-token-00000wxyz";

let t: ReturnType<typeof tempHome>;
let model: ScriptedModel | null = null;
beforeEach(() => {
  t = tempHome();
});
afterEach(async () => {
  await model?.close();
  model = null;
  t.cleanup();
});

function io(secret: string): AuthIo & { lines: string[]; errors: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  return { lines, errors, out: (l) => lines.push(l), err: (l) => errors.push(l), readSecret: async () => secret };
}

/** Points [network] at a scripted model on loopback that accepts only `expectKey`. */
async function upstream(expectKey: string): Promise<ScriptedModel> {
  model = await startScriptedModel({ turns: [], expectKey });
  setConfigValue(t.home, "network.upstream_url", model.url);
  setConfigValue(t.home, "network.upstream_allowlist", JSON.stringify([new URL(model.url).host]));
  return model;
}

describe("auth api-key", () => {
  test("verifies through the egress proxy, stores 0600, prints only the masked key", async () => {
    const m = await upstream(KEY);
    const o = io(KEY);
    expect(await runAuthStore(t.home, "api-key", { verify: true }, o)).toBe(0);
    expect(readCredential(t.home, "anthropic_api_key")).toBe(KEY);
    expect(statSync(join(t.home, "credentials", "anthropic_api_key")).mode & 0o777).toBe(0o600);
    expect(m.requests).toHaveLength(1);
    expect(m.requests[0]?.path).toBe("/v1/messages/count_tokens");
    expect(m.requests[0]?.headers["x-api-key"]).toBe(KEY);
    expect(o.lines.join("\n")).toContain("sk-…abcd");
    expect(o.lines.join("\n")).toContain("verified");
    expect([...o.lines, ...o.errors].join("\n")).not.toContain(KEY);
  });

  test("a key the upstream rejects is not stored (exit 1), and the message masks it", async () => {
    await upstream("some-other-key-entirely");
    const o = io(KEY);
    expect(await runAuthStore(t.home, "api-key", { verify: true }, o)).toBe(1);
    expect(readCredential(t.home, "anthropic_api_key")).toBeNull();
    expect(o.errors.join("\n")).toMatch(
      /^\[AUTH\] Error: the Anthropic API key sk-…abcd was rejected: .* answered 401 \(authentication_error\)/,
    );
    expect(o.errors.join("\n")).not.toContain(KEY);
  });

  test("an unreachable upstream stores nothing and points to --no-verify, which stores unchecked", async () => {
    setConfigValue(t.home, "network.upstream_url", "http://127.0.0.1:1");
    setConfigValue(t.home, "network.upstream_allowlist", '["127.0.0.1:1"]');
    const o = io(KEY);
    expect(await runAuthStore(t.home, "api-key", { verify: true }, o)).toBe(1);
    expect(o.errors.join("\n")).toContain("--no-verify");
    expect(readCredential(t.home, "anthropic_api_key")).toBeNull();
    const unchecked = io(KEY);
    expect(await runAuthStore(t.home, "api-key", { verify: false }, unchecked)).toBe(0);
    expect(unchecked.lines.join("\n")).toContain("not verified");
    expect(readCredential(t.home, "anthropic_api_key")).toBe(KEY);
  });

  test("an upstream outside the allowlist is a config error, not a network attempt", async () => {
    setConfigValue(t.home, "network.upstream_url", "http://127.0.0.1:9");
    const o = io(KEY);
    expect(await runAuthStore(t.home, "api-key", { verify: true }, o)).toBe(1);
    expect(o.errors.join("\n")).toMatch(
      /\[AUTH\] Error: the upstream 127\.0\.0\.1:9 is not in \[network\] upstream_allowlist.*Fix: fix \[network\]/,
    );
  });

  test("usage errors (exit 2): a key on the command line, empty input, a value with spaces", async () => {
    const argv = io(KEY);
    expect(await runAuthStore(t.home, "api-key", { verify: false, extraArgs: [KEY] }, argv)).toBe(2);
    expect(argv.errors.join("\n")).toContain("not taken from the command line");
    expect(argv.errors.join("\n")).not.toContain(KEY);
    expect(await runAuthStore(t.home, "api-key", { verify: false }, io(""))).toBe(2);
    expect(await runAuthStore(t.home, "api-key", { verify: false }, io("sk-ant with space"))).toBe(2);
    expect(readCredential(t.home, "anthropic_api_key")).toBeNull();
  });
});

describe("auth login", () => {
  test("stores an OAuth token verified with Authorization: Bearer and the oauth beta", async () => {
    const m = await upstream(OAUTH);
    const o = io(OAUTH);
    expect(await runAuthStore(t.home, "oauth-token", { verify: true }, o)).toBe(0);
    expect(readCredential(t.home, "anthropic_oauth_token")).toBe(OAUTH);
    expect(m.requests[0]?.headers.authorization).toBe(`Bearer ${OAUTH}`);
    expect(m.requests[0]?.headers["anthropic-beta"]).toContain("oauth-2025-04-20");
    expect(m.requests[0]?.headers["x-api-key"]).toBeUndefined();
    expect(readAnthropicCredential(t.home)).toMatchObject({
      kind: "oauth-token",
      header: "authorization",
      value: `Bearer ${OAUTH}`,
      containerEnv: "CLAUDE_CODE_OAUTH_TOKEN",
    });
  });
});

describe("auth status", () => {
  test("nothing stored: exit 1 with the command that fixes it", () => {
    const o = io("");
    expect(runAuthStatus(t.home, false, o)).toBe(1);
    expect(o.lines[0]).toBe("Anthropic API key: not stored");
    expect(o.errors.join("\n")).toContain("carapace auth api-key");
  });

  test("both stored: the API key is the one sessions use; masked values and modes, never the secrets", async () => {
    expect(await runAuthStore(t.home, "oauth-token", { verify: false }, io(OAUTH))).toBe(0);
    const later = io(KEY);
    expect(await runAuthStore(t.home, "api-key", { verify: false }, later)).toBe(0);
    const text = io("");
    expect(runAuthStatus(t.home, false, text)).toBe(0);
    expect(text.lines[0]).toBe("Anthropic API key: stored (sk-…abcd, mode 0600), used by sessions");
    expect(text.lines[1]).toContain("Claude OAuth token: stored (sk-…wxyz, mode 0600), not used");
    const json = io("");
    expect(runAuthStatus(t.home, true, json)).toBe(0);
    const status = JSON.parse(json.lines[0] ?? "{}");
    expect(status.credentials).toEqual([
      { kind: "api-key", name: "anthropic_api_key", stored: true, mode: "0600", masked: "sk-…abcd", active: true },
      {
        kind: "oauth-token",
        name: "anthropic_oauth_token",
        stored: true,
        mode: "0600",
        masked: "sk-…wxyz",
        active: false,
      },
    ]);
    expect(status.upstream).toBe("https://api.anthropic.com");
    const all = [...text.lines, ...json.lines, ...later.lines, ...later.errors].join("\n");
    expect(all).not.toContain(KEY);
    expect(all).not.toContain(OAUTH);
    expect(readAnthropicCredential(t.home)).toMatchObject({
      kind: "api-key",
      header: "x-api-key",
      value: KEY,
      containerEnv: "ANTHROPIC_API_KEY",
    });
  });
});

describe("auth: input and help", () => {
  test("masking shows at most the sk- prefix and the last four characters", () => {
    expect(maskSecret(KEY)).toBe("sk-…abcd");
    expect(maskSecret("abcdefghijklmnopqrstu")).toBe("…rstu");
    expect(maskSecret("short-secret")).toBe("…");
  });

  test("a piped secret is read whole and trimmed", async () => {
    const piped = new Blob([`  ${KEY}\n`]).stream();
    expect(await readPipedSecret(piped)).toBe(KEY);
  });

  test("the command reads a piped key from real stdin; --no-verify skips the call; a key in argv is refused", async () => {
    const script = (argv: string[]) =>
      `import { runCommand } from "citty"; import { authCommand } from ${JSON.stringify(join(import.meta.dir, "../../src/cli/auth.ts"))};` +
      `await runCommand(authCommand, { rawArgs: ${JSON.stringify(argv)} });`;
    const run = (argv: string[], stdin: string) =>
      Bun.spawnSync([process.execPath, "-e", script(argv)], {
        stdin: new Blob([stdin]),
        env: { ...process.env, CARAPACE_HOME: t.home },
      });
    const stored = run(["api-key", "--no-verify"], `${KEY}\n`);
    expect(stored.exitCode).toBe(0);
    expect(stored.stdout.toString()).toContain("sk-…abcd");
    expect(readCredential(t.home, "anthropic_api_key")).toBe(KEY);
    const inArgv = run(["login", "--no-verify", OAUTH], "");
    expect(inArgv.exitCode).toBe(2);
    expect(readCredential(t.home, "anthropic_oauth_token")).toBeNull();
  });

  test("every auth command documents its exit codes; login explains claude setup-token", async () => {
    const usages = [
      await renderUsage(authApiKeyCommand),
      await renderUsage(authLoginCommand),
      await renderUsage(authStatusCommand),
    ];
    for (const usage of usages) expect(usage).toContain("Exit codes: 0");
    expect(await renderUsage(authLoginCommand)).toContain("claude setup-token");
    expect(await renderUsage(authApiKeyCommand)).toContain("never from the command line");
  });
});
