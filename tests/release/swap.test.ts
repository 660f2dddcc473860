import { afterEach, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stageBeside, swapInto } from "../../src/release/swap.ts";

let dir = "";
afterEach(() => rmSync(dir, { recursive: true, force: true }));
const enc = (s: string) => new TextEncoder().encode(s);

test("replaces every target and leaves no staged or backup files", () => {
  dir = mkdtempSync(join(tmpdir(), "carapace-swap-"));
  writeFileSync(join(dir, "a"), "old a");
  const replacements = [
    { target: join(dir, "a"), data: enc("new a") },
    { target: join(dir, "lib/b"), data: enc("new b") },
  ];
  swapInto(replacements, stageBeside(replacements));
  expect(readFileSync(join(dir, "a"), "utf8")).toBe("new a");
  expect(readFileSync(join(dir, "lib/b"), "utf8")).toBe("new b");
  expect(readdirSync(dir).sort()).toEqual(["a", "lib"]);
  expect(readdirSync(join(dir, "lib"))).toEqual(["b"]);
});

test("a failing second rename restores the first target and removes what was staged", () => {
  dir = mkdtempSync(join(tmpdir(), "carapace-swap-"));
  writeFileSync(join(dir, "a"), "old a");
  mkdirSync(join(dir, "b"));
  writeFileSync(join(dir, "b/keep"), "a directory cannot be renamed over by a file");
  const replacements = [
    { target: join(dir, "a"), data: enc("new a") },
    { target: join(dir, "b"), data: enc("new b") },
  ];
  const staged = stageBeside(replacements);
  expect(() => swapInto(replacements, staged)).toThrow("[RELEASE] Error: replacing the installed files failed");
  expect(readFileSync(join(dir, "a"), "utf8")).toBe("old a");
  expect(readdirSync(dir).sort()).toEqual(["a", "b"]);
});
