/** The key and mirror install.sh pins must be the ones the carapace binary embeds. */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { RELEASE_BASE_URL } from "../../src/release/layout.ts";
import { EMBEDDED_RELEASE_KEY, RELEASE_PUBLIC_KEY, USES_CUSTOM_RELEASE_KEY } from "../../src/release/public-key.ts";
import { publicKeyFromBase64 } from "../../src/release/signature.ts";

const script = readFileSync(join(import.meta.dir, "../../install.sh"), "utf8");

test("install.sh pins the project release key and the default mirror of src/release", () => {
  expect(/^RELEASE_PUBKEY='([^']+)'$/m.exec(script)?.[1]).toBe(RELEASE_PUBLIC_KEY);
  expect(/^DEFAULT_BASE_URL='([^']+)'$/m.exec(script)?.[1]).toBe(RELEASE_BASE_URL);
  expect(publicKeyFromBase64(RELEASE_PUBLIC_KEY).asymmetricKeyType).toBe("ed25519");
});

test("a binary built without --define trusts the project key", () => {
  expect(EMBEDDED_RELEASE_KEY).toBe(RELEASE_PUBLIC_KEY);
  expect(USES_CUSTOM_RELEASE_KEY).toBe(false);
});

test("install.sh has no way around verification: no eval, no sudo, no skip flag", () => {
  const code = script.split("\n").filter((line) => !line.trimStart().startsWith("#"));
  expect(code.filter((line) => /\beval\b|\bsudo\s/.test(line) && !line.includes("never install with sudo"))).toEqual(
    [],
  );
  expect(script).not.toMatch(/--(insecure|no-verify|skip-(signature|checksum|verify))/);
  expect(script).toContain("umask 077");
  expect(script).toContain("--proto '=https' --proto-redir '=https'");
});

test("shellcheck finds nothing in install.sh at any severity", () => {
  if (!Bun.which("shellcheck")) throw new Error("shellcheck is not installed (apt-get install shellcheck)");
  const run = Bun.spawnSync(["shellcheck", "--severity=style", join(import.meta.dir, "../../install.sh")], {
    stdout: "pipe",
  });
  expect(run.stdout.toString()).toBe("");
  expect(run.exitCode).toBe(0);
});
