import { expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateReleaseKey } from "../../build/release/keygen.ts";
import { privateKeyFromPem, publicKeyPem, signDetached, verifyDetached } from "../../src/release/signature.ts";

const data = new TextEncoder().encode("0123  carapace-linux-x64\n");

test("a detached Ed25519 signature verifies with its key only, and not over altered data", () => {
  const key = generateReleaseKey();
  const other = generateReleaseKey();
  const signature = signDetached(data, privateKeyFromPem(key.privatePem));
  expect(signature.length).toBe(64);
  expect(verifyDetached(data, signature, key.publicBase64)).toBe(true);
  expect(verifyDetached(data, signature, other.publicBase64)).toBe(false);
  expect(verifyDetached(new TextEncoder().encode("0124  carapace-linux-x64\n"), signature, key.publicBase64)).toBe(
    false,
  );
  expect(verifyDetached(data, signature.subarray(0, 63), key.publicBase64)).toBe(false);
});

test("openssl pkeyutl verifies the same signature file install.sh checks (and rejects a flipped bit)", () => {
  const key = generateReleaseKey();
  const dir = mkdtempSync(join(tmpdir(), "carapace-sig-"));
  try {
    const signature = signDetached(data, privateKeyFromPem(key.privatePem));
    writeFileSync(join(dir, "SHA256SUMS"), data);
    writeFileSync(join(dir, "SHA256SUMS.sig"), signature);
    writeFileSync(join(dir, "release.pub"), publicKeyPem(key.publicBase64));
    const verify = () =>
      Bun.spawnSync(
        [
          "openssl",
          "pkeyutl",
          "-verify",
          "-pubin",
          "-inkey",
          "release.pub",
          "-rawin",
          "-in",
          "SHA256SUMS",
          "-sigfile",
          "SHA256SUMS.sig",
        ],
        { cwd: dir, stdout: "pipe", stderr: "pipe" },
      );
    expect(verify().exitCode).toBe(0);
    signature[0] = (signature[0] as number) ^ 1;
    writeFileSync(join(dir, "SHA256SUMS.sig"), signature);
    expect(verify().exitCode).not.toBe(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a key that is not Ed25519 is refused with a fix", () => {
  const { privateKey } = require("node:crypto").generateKeyPairSync("ec", { namedCurve: "P-256" });
  const pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  expect(() => privateKeyFromPem(pem)).toThrow("[RELEASE] Error: the signing key is ec, not Ed25519");
  expect(() => verifyDetached(data, new Uint8Array(64), "bm90IGEga2V5")).toThrow(/not an Ed25519/);
});
