import { expect, test } from "bun:test";
import { join } from "node:path";
import { lockfileProblems } from "../../../build/check/lockfile-integrity.ts";
import { REPO_ROOT } from "./scratch-repo.ts";

const SHA = "sha512-AAAA";

test("the project's own bun.lock is clean", async () => {
  const lock = Bun.JSONC.parse(await Bun.file(join(REPO_ROOT, "bun.lock")).text()) as Parameters<
    typeof lockfileProblems
  >[0];
  expect(lockfileProblems(lock)).toEqual([]);
});

test("accepts exact registry versions, scoped or not", () => {
  expect(
    lockfileProblems({
      trustedDependencies: [],
      packages: { ajv: ["ajv@8.20.0", "", {}, SHA], "@types/bun": ["@types/bun@1.4.5", "", {}, SHA] },
    }),
  ).toEqual([]);
});

test("names git and tarball sources, missing hashes and trusted install scripts", () => {
  expect(
    lockfileProblems({
      trustedDependencies: ["zeromq"],
      packages: {
        left: ["left@github:someone/left#main", {}, "deadbeef"],
        tarball: ["tarball@https://example.com/t.tgz", {}],
        unhashed: ["unhashed@1.0.0", "", {}],
      },
    }),
  ).toEqual([
    "zeromq is in trustedDependencies: its install scripts would run",
    "left does not resolve from the npm registry by exact version (left@github:someone/left#main)",
    "tarball does not resolve from the npm registry by exact version (tarball@https://example.com/t.tgz)",
    "unhashed has no sha512 integrity hash",
  ]);
});
