import { expect, test } from "bun:test";
import { compareVersions, normalizeVersion, parseVersion } from "../../src/release/version.ts";

test("parses X.Y.Z with an optional v and pre-release, rejects the rest", () => {
  expect(parseVersion("v1.2.3")).toEqual({ major: 1, minor: 2, patch: 3, prerelease: [] });
  expect(normalizeVersion("v0.2.0-rc.1")).toBe("0.2.0-rc.1");
  for (const bad of ["1.2", "01.2.3", "latest", "1.2.3.4", "v1.2.3-", ""]) expect(parseVersion(bad)).toBeUndefined();
});

test("orders versions by semantic-versioning precedence", () => {
  const sorted = [
    "0.1.0",
    "0.2.0-alpha",
    "0.2.0-alpha.1",
    "0.2.0-alpha.beta",
    "0.2.0-beta.2",
    "0.2.0-beta.11",
    "0.2.0",
    "0.10.0",
    "1.0.0",
  ];
  for (let i = 0; i < sorted.length - 1; i++) {
    expect(compareVersions(sorted[i] as string, sorted[i + 1] as string)).toBe(-1);
    expect(compareVersions(sorted[i + 1] as string, sorted[i] as string)).toBe(1);
  }
  expect(compareVersions("v1.0.0", "1.0.0")).toBe(0);
  expect(() => compareVersions("1.0", "1.0.0")).toThrow("not a version: 1.0");
});
