/**
 * docs/THREAT_MODEL.md names the files each defence lives in and the tests that prove it: every one of
 * those must exist, and every `doctor --attack` step it cites must be a step, so the document cannot
 * quietly drift from the code.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ATTACK_STEPS } from "../../src/doctor/attack/steps.ts";

const ROOT = join(import.meta.dir, "../..");
const doc = readFileSync(join(ROOT, "docs/THREAT_MODEL.md"), "utf8");
const spans = [...doc.matchAll(/`([^`\n]+)`/g)].map((m) => m[1] as string);

describe("docs/THREAT_MODEL.md", () => {
  test("every repository path it names exists (globs by their directory)", () => {
    const paths = spans.filter((s) => /^(src|tests|container|build|plugins)\//.test(s));
    expect(paths.length).toBeGreaterThan(20);
    const missing = paths.filter((p) => !existsSync(join(ROOT, p.replace(/\/?[^/]*\*.*$/, ""))));
    expect(missing).toEqual([]);
  });

  test("every hostile-agent test file it cites exists", () => {
    const tests = spans.filter((s) => /^[\w-]+\.test\.ts$/.test(s));
    expect(tests.length).toBeGreaterThan(5);
    const missing = tests.filter((t) => !existsSync(join(ROOT, "tests/security/hostile-agent", t)));
    expect(missing).toEqual([]);
  });

  test("every doctor --attack step it cites is a step", () => {
    const cited = [...doc.matchAll(/doctor ((?:`[\w-]+`(?:, )?)+)/g)].flatMap((m) =>
      [...(m[1] as string).matchAll(/`([\w-]+)`/g)].map((x) => x[1] as string),
    );
    expect(cited.length).toBeGreaterThan(5);
    const ids = new Set(ATTACK_STEPS.map((s) => s.id));
    expect(cited.filter((c) => !ids.has(c))).toEqual([]);
  });
});
