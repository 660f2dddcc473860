/**
 * The Ed25519 key that signs Carapace releases (SubjectPublicKeyInfo DER, base64). install.sh pins the
 * same value (RELEASE_PUBKEY); tests/release/public-key.test.ts checks the two agree.
 */
export const RELEASE_PUBLIC_KEY = "MCowBQYDK2VwAyEAbY0C3DzljDUAL3evsmeJ92/1K8Oj0uYzslpaG+oG2hQ=";

/**
 * Set only by `bun build --define` when build/release/release.ts is given `--embed-key` (tests and
 * forks signing with their own key). There is deliberately no run-time override (no env var, no file):
 * changing which key an installed carapace trusts means replacing the binary itself.
 */
declare const __CARAPACE_RELEASE_KEY__: string | undefined;

export const EMBEDDED_RELEASE_KEY: string =
  typeof __CARAPACE_RELEASE_KEY__ === "string" ? __CARAPACE_RELEASE_KEY__ : RELEASE_PUBLIC_KEY;

/** True when this binary trusts a key other than the project's (doctor reports it). */
export const USES_CUSTOM_RELEASE_KEY: boolean = EMBEDDED_RELEASE_KEY !== RELEASE_PUBLIC_KEY;
