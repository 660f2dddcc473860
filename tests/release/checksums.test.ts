import { describe, expect, test } from "bun:test";
import { formatChecksums, parseChecksums, sha256Hex, verifyChecksum } from "../../src/release/checksums.ts";

const hashA = sha256Hex(new TextEncoder().encode("a"));
const hashB = sha256Hex(new TextEncoder().encode("b"));

describe("SHA256SUMS", () => {
  test("round-trips the coreutils format, sorted by name, and accepts the binary-mode star", () => {
    const text = formatChecksums(
      new Map([
        ["z-file", hashB],
        ["a-file", hashA],
      ]),
    );
    expect(text).toBe(`${hashA}  a-file\n${hashB}  z-file\n`);
    expect(parseChecksums(text)).toEqual(
      new Map([
        ["a-file", hashA],
        ["z-file", hashB],
      ]),
    );
    expect(parseChecksums(`${hashA} *carapace-linux-x64\n`).get("carapace-linux-x64")).toBe(hashA);
  });

  test.each([
    ["an empty file", ""],
    ["a short hash", `${hashA.slice(2)}  x\n`],
    ["upper-case hex", `${hashA.toUpperCase()}  x\n`],
    ["a path", `${hashA}  ../etc/passwd\n`],
    ["a stray line", `${hashA}  x\nhello\n`],
    ["a duplicate", `${hashA}  x\n${hashB}  x\n`],
  ])("rejects %s as a whole", (_name, text) => {
    expect(() => parseChecksums(text)).toThrow(/\[RELEASE\] Error: SHA256SUMS/);
  });

  test("verifyChecksum accepts the listed bytes and rejects others or unlisted names", () => {
    const sums = parseChecksums(`${hashA}  f\n`);
    verifyChecksum(sums, "f", new TextEncoder().encode("a"));
    expect(() => verifyChecksum(sums, "f", new TextEncoder().encode("b"))).toThrow(
      /checksum mismatch for f \(expected/,
    );
    expect(() => verifyChecksum(sums, "g", new TextEncoder().encode("a"))).toThrow(/does not list g/);
  });
});
