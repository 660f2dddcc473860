/**
 * What a release contains and where it is published. install.sh follows the same layout (its
 * DEFAULT_BASE_URL must equal RELEASE_BASE_URL; tests/release/public-key.test.ts checks).
 *
 *   <base>/latest/download/<file>          the newest release
 *   <base>/download/v<X.Y.Z>/<file>        a given release
 */
import { ReleaseError } from "./errors.ts";

export const RELEASE_BASE_URL = "https://github.com/carapace-dev/carapace/releases";

export const RELEASE_FILES = {
  checksums: "SHA256SUMS",
  signature: "SHA256SUMS.sig",
  version: "VERSION",
  sbom: "carapace.cdx.json",
  installer: "install.sh",
} as const;

export type ReleaseOs = "linux" | "darwin";
export type ReleaseArch = "x64" | "arm64";

export function carapaceArtifact(os: ReleaseOs, arch: ReleaseArch): string {
  return `carapace-${os}-${arch}`;
}

/** The container is Linux on every host OS, so every platform installs the Linux ipc of its arch. */
export function ipcArtifact(arch: ReleaseArch): string {
  return `ipc-linux-${arch}`;
}

export function hostPlatform(): { os: ReleaseOs; arch: ReleaseArch } {
  const os = process.platform === "darwin" ? "darwin" : process.platform === "linux" ? "linux" : undefined;
  const arch = process.arch === "arm64" ? "arm64" : process.arch === "x64" ? "x64" : undefined;
  if (!os || !arch) {
    throw new ReleaseError(
      `no release is built for ${process.platform}/${process.arch}`,
      "build from source (install.sh --from-source)",
    );
  }
  return { os, arch };
}

/** Only https:// bases are accepted, mirrors included; a trailing slash is dropped. */
export function checkBaseUrl(base: string): string {
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new ReleaseError(`the release base URL ${JSON.stringify(base)} is not a URL`, "pass an https:// URL");
  }
  if (url.protocol !== "https:") {
    throw new ReleaseError(
      `the release base URL ${base} is not https`,
      "pass an https:// URL; releases are never fetched in the clear",
    );
  }
  return base.replace(/\/+$/, "");
}

export function releaseFileUrl(base: string, version: string | undefined, file: string): string {
  const root = checkBaseUrl(base);
  return version === undefined ? `${root}/latest/download/${file}` : `${root}/download/v${version}/${file}`;
}
