import { describe, expect, test } from "bun:test";
import { generateReleaseKey } from "../../build/release/keygen.ts";
import { formatChecksums, sha256Hex } from "../../src/release/checksums.ts";
import { privateKeyFromPem, signDetached } from "../../src/release/signature.ts";
import { planUpdate, verifyArtifact, verifyReleaseIndex } from "../../src/release/verify.ts";

const enc = (s: string) => new TextEncoder().encode(s);

function signedIndex(version: string, files: Record<string, string>) {
  const key = generateReleaseKey();
  const entries = new Map(
    Object.entries({ ...files, VERSION: `${version}\n` }).map(([n, c]) => [n, sha256Hex(enc(c))]),
  );
  const checksums = enc(formatChecksums(entries));
  return {
    key,
    checksums,
    signature: signDetached(checksums, privateKeyFromPem(key.privatePem)),
    version: enc(`${version}\n`),
  };
}

describe("verifyReleaseIndex", () => {
  test("returns the signed version and checks artifacts against it", () => {
    const index = signedIndex("0.3.0", { "carapace-linux-x64": "binary" });
    const release = verifyReleaseIndex(index, index.key.publicBase64);
    expect(release.version).toBe("0.3.0");
    verifyArtifact(release, "carapace-linux-x64", enc("binary"));
    expect(() => verifyArtifact(release, "carapace-linux-x64", enc("binarY"))).toThrow("checksum mismatch");
  });

  test("rejects a foreign key, and a VERSION file that is not the signed one", () => {
    const index = signedIndex("0.3.0", {});
    expect(() => verifyReleaseIndex(index, generateReleaseKey().publicBase64)).toThrow(
      "does not verify with the Carapace release key",
    );
    expect(() => verifyReleaseIndex({ ...index, version: enc("9.9.9\n") }, index.key.publicBase64)).toThrow(
      "checksum mismatch for VERSION",
    );
  });

  test("the binary's embedded key is the project key unless built with --embed-key", () => {
    const index = signedIndex("0.3.0", {});
    expect(() => verifyReleaseIndex(index)).toThrow("does not verify");
  });
});

describe("planUpdate", () => {
  test("upgrade, current, refused and allowed downgrade, and a mislabelled requested version", () => {
    expect(planUpdate("0.1.0", "0.2.0")).toEqual({ action: "upgrade" });
    expect(planUpdate("0.2.0", "0.2.0")).toEqual({ action: "current" });
    expect(() => planUpdate("0.2.0", "0.1.0")).toThrow("downgrades are refused. Fix: pass --allow-downgrade");
    expect(planUpdate("0.2.0", "0.1.0", { allowDowngrade: true })).toEqual({ action: "downgrade" });
    expect(() => planUpdate("0.1.0", "0.2.0", { requested: "v0.3.0" })).toThrow(
      "asked for v0.3.0 but the signed release is v0.2.0",
    );
  });
});
