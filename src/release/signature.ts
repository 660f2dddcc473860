/**
 * Detached Ed25519 signatures over SHA256SUMS (minisign-style, node:crypto only). The signature file is
 * the raw 64-byte signature, so `openssl pkeyutl -verify -pubin -rawin -sigfile` checks it as is.
 */
import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from "node:crypto";
import { ReleaseError } from "./errors.ts";

const SPKI_ED25519_PREFIX = "MCowBQYDK2VwAyEA";

export function publicKeyFromBase64(spkiBase64: string): KeyObject {
  const trimmed = spkiBase64.trim();
  if (!trimmed.startsWith(SPKI_ED25519_PREFIX) || trimmed.length !== 60) {
    throw new ReleaseError(
      "the release public key is not an Ed25519 SubjectPublicKeyInfo in base64",
      "rebuild carapace from a clean checkout",
    );
  }
  return createPublicKey({ key: Buffer.from(trimmed, "base64"), format: "der", type: "spki" });
}

export function publicKeyToBase64(key: KeyObject): string {
  return key.export({ type: "spki", format: "der" }).toString("base64");
}

/** The PEM form openssl and the docs use. */
export function publicKeyPem(spkiBase64: string): string {
  return `-----BEGIN PUBLIC KEY-----\n${spkiBase64.trim()}\n-----END PUBLIC KEY-----\n`;
}

export function privateKeyFromPem(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw new ReleaseError("the signing key is not a PEM private key", "make one with `bun build/release/keygen.ts`");
  }
  if (key.asymmetricKeyType !== "ed25519") {
    throw new ReleaseError(
      `the signing key is ${key.asymmetricKeyType}, not Ed25519`,
      "make one with `bun build/release/keygen.ts`",
    );
  }
  return key;
}

export function signDetached(data: Uint8Array, privateKey: KeyObject): Uint8Array {
  return new Uint8Array(sign(null, data, privateKey));
}

export function verifyDetached(data: Uint8Array, signature: Uint8Array, spkiBase64: string): boolean {
  if (signature.length !== 64) return false;
  return verify(null, data, publicKeyFromBase64(spkiBase64), signature);
}
