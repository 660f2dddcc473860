/**
 * SHA256SUMS in the GNU coreutils form (`<64 hex>  <name>`, or `<hex> *<name>`), parsed strictly: a
 * malformed line, an unsafe name or a duplicate rejects the whole file rather than being skipped.
 */
import { createHash } from "node:crypto";
import { ReleaseError } from "./errors.ts";

const LINE = /^([0-9a-f]{64}) [ *]([A-Za-z0-9][A-Za-z0-9._-]*)$/;

export function sha256Hex(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

export function formatChecksums(entries: ReadonlyMap<string, string>): string {
  return [...entries]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, hash]) => `${hash}  ${name}\n`)
    .join("");
}

export function parseChecksums(text: string): Map<string, string> {
  const entries = new Map<string, string>();
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  if (lines.length === 0) throw new ReleaseError("SHA256SUMS is empty", "download the release again");
  lines.forEach((line, index) => {
    const match = LINE.exec(line);
    if (!match) throw new ReleaseError(`SHA256SUMS line ${index + 1} is malformed`, "download the release again");
    const [, hash, name] = match as unknown as [string, string, string];
    if (entries.has(name)) throw new ReleaseError(`SHA256SUMS lists ${name} twice`, "download the release again");
    entries.set(name, hash);
  });
  return entries;
}

/** Throws unless `data` is exactly the file SHA256SUMS lists under `name`. */
export function verifyChecksum(entries: ReadonlyMap<string, string>, name: string, data: Uint8Array): void {
  const expected = entries.get(name);
  if (expected === undefined) {
    throw new ReleaseError(
      `the release does not list ${name} in SHA256SUMS`,
      "check the version and platform, or use another mirror",
    );
  }
  const actual = sha256Hex(data);
  if (actual !== expected) {
    throw new ReleaseError(
      `checksum mismatch for ${name} (expected ${expected}, got ${actual})`,
      "the download was corrupted or tampered with; try again later or from another mirror, and report it if it persists",
    );
  }
}
