/**
 * The one place a release is judged: the signature over SHA256SUMS with the embedded key, then every
 * file against SHA256SUMS. `carapace update` and doctor use this; install.sh does the same with openssl.
 */
import { parseChecksums, verifyChecksum } from "./checksums.ts";
import { ReleaseError } from "./errors.ts";
import { RELEASE_FILES } from "./layout.ts";
import { EMBEDDED_RELEASE_KEY } from "./public-key.ts";
import { verifyDetached } from "./signature.ts";
import { compareVersions, normalizeVersion } from "./version.ts";

export interface VerifiedRelease {
  /** The signed release version, "X.Y.Z". */
  version: string;
  checksums: ReadonlyMap<string, string>;
}

export function verifyReleaseIndex(
  files: { checksums: Uint8Array; signature: Uint8Array; version: Uint8Array },
  publicKey: string = EMBEDDED_RELEASE_KEY,
): VerifiedRelease {
  if (!verifyDetached(files.checksums, files.signature, publicKey)) {
    throw new ReleaseError(
      "the signature over SHA256SUMS does not verify with the Carapace release key",
      "do not use this release; it was altered or signed by someone else. Try again later or from another mirror, and report it",
    );
  }
  const checksums = parseChecksums(new TextDecoder().decode(files.checksums));
  verifyChecksum(checksums, RELEASE_FILES.version, files.version);
  const version = normalizeVersion(new TextDecoder().decode(files.version));
  if (!version) throw new ReleaseError("the signed VERSION file does not hold a version", "report this release");
  return { version, checksums };
}

export function verifyArtifact(release: VerifiedRelease, name: string, data: Uint8Array): void {
  verifyChecksum(release.checksums, name, data);
}

export type UpdatePlan = { action: "current" } | { action: "upgrade" } | { action: "downgrade" };

/**
 * What installing `offered` over `installed` means. A requested version must be what was signed (a
 * mirror cannot answer v2 with v1), and a downgrade is refused unless explicitly allowed.
 */
export function planUpdate(
  installed: string,
  offered: string,
  options: { requested?: string; allowDowngrade?: boolean } = {},
): UpdatePlan {
  if (options.requested !== undefined && normalizeVersion(options.requested) !== offered) {
    throw new ReleaseError(
      `asked for v${normalizeVersion(options.requested) ?? options.requested} but the signed release is v${offered}`,
      "check the version, or try another mirror",
    );
  }
  const order = compareVersions(offered, installed);
  if (order === 0) return { action: "current" };
  if (order > 0) return { action: "upgrade" };
  if (!options.allowDowngrade) {
    throw new ReleaseError(
      `v${offered} is older than the installed v${installed}; downgrades are refused`,
      "pass --allow-downgrade if you really mean to go back",
    );
  }
  return { action: "downgrade" };
}
