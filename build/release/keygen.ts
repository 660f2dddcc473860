/**
 * `bun build/release/keygen.ts <private-key-file>`: makes an Ed25519 release key pair. Writes the
 * private key (PEM, mode 0600, refusing to overwrite) and prints the public key in the two forms the
 * project pins: base64 SPKI for src/release/public-key.ts and install.sh, and PEM for the docs.
 */
import { generateKeyPairSync } from "node:crypto";
import { existsSync, writeFileSync } from "node:fs";
import { publicKeyPem, publicKeyToBase64 } from "../../src/release/signature.ts";

export function generateReleaseKey(): { privatePem: string; publicBase64: string } {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  return {
    privatePem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    publicBase64: publicKeyToBase64(publicKey),
  };
}

if (import.meta.main) {
  const file = process.argv[2];
  if (!file) {
    console.error("[RELEASE] Error: no output file given. Fix: bun build/release/keygen.ts <private-key-file>.");
    process.exit(2);
  }
  if (existsSync(file)) {
    console.error(`[RELEASE] Error: ${file} exists. Fix: choose a new path; keys are never overwritten.`);
    process.exit(1);
  }
  const key = generateReleaseKey();
  writeFileSync(file, key.privatePem, { mode: 0o600, flag: "wx" });
  console.log(`private key: ${file} (keep it offline; it signs releases)`);
  console.log(`public key (src/release/public-key.ts, install.sh RELEASE_PUBKEY): ${key.publicBase64}`);
  console.log(publicKeyPem(key.publicBase64).trimEnd());
}
