import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT, runAstGrep, scan } from "./ast-grep.ts";

interface RuleFile {
  id: string;
  language: string;
  severity: string;
  message: string;
  note: string;
}

const RULES_DIR = join(REPO_ROOT, "rules");
const FIXTURES = "tests/fixtures/rules";
/** Trailing comment on each line of a bad fixture that the rule must report. */
const MARKER = /\/\/ expect-finding\s*$/;

const rules: RuleFile[] = readdirSync(RULES_DIR)
  .filter((name) => name.endsWith(".yml"))
  .map((name) => Bun.YAML.parse(readFileSync(join(RULES_DIR, name), "utf8")) as RuleFile);

/** Fixture entries of one kind for a rule: `bad.ts`, `bad/manifest.json`, ... (file or directory). */
function fixtures(ruleId: string, kind: "good" | "bad" | "suppressed"): string[] {
  const dir = join(REPO_ROOT, FIXTURES, ruleId);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name === kind || name.startsWith(`${kind}.`))
    .map((name) => `${FIXTURES}/${ruleId}/${name}`);
}

/** 0-based lines carrying the marker, per file under a fixture path. */
function markedLines(path: string): Map<string, number[]> {
  const absolute = join(REPO_ROOT, path);
  const files = statSync(absolute).isDirectory() ? readdirSync(absolute).map((name) => `${path}/${name}`) : [path];
  const marked = new Map<string, number[]>();
  for (const file of files) {
    const lines = readFileSync(join(REPO_ROOT, file), "utf8").split("\n");
    const hits = lines.flatMap((line, index) => (MARKER.test(line) ? [index] : []));
    if (hits.length > 0) marked.set(file, hits);
  }
  return marked;
}

test("the rule set is the six structural security rules (schemas checked in both JSON and TypeScript)", () => {
  expect(rules.map((rule) => rule.id).sort()).toEqual([
    "no-direct-database",
    "no-env-in-handler-return",
    "no-identity-from-wire",
    "no-string-built-sql",
    "no-toolerror-from-caught-error",
    "schema-closed-json",
    "schema-closed-ts",
  ]);
});

test("ast-grep's own valid/invalid cases in tests/rules/*-test.yml pass", () => {
  const { exitCode, stdout, stderr } = runAstGrep(["test", "--skip-snapshot-tests"]);
  expect(`${stdout}${stderr}`).toContain(`${rules.length} passed; 0 failed`);
  expect(exitCode).toBe(0);
});

describe.each(rules)("rule $id", (rule) => {
  test("fails the scan, explains itself and says how to silence it", () => {
    expect(rule.severity).toBe("error");
    expect(rule.message).toStartWith("[SECURITY-RULE] ");
    expect(rule.note).toContain("Fix:");
    if (rule.language === "json") expect(rule.note).toContain("cannot be silenced inline");
    else expect(rule.note).toContain(`// ast-grep-ignore: ${rule.id} -- <`);
  });

  test("has ast-grep test cases", () => {
    expect(existsSync(join(REPO_ROOT, "tests/rules", `${rule.id}-test.yml`))).toBe(true);
  });

  test("fires on its bad fixture, on every marked case and nothing else", () => {
    const bad = fixtures(rule.id, "bad");
    expect(bad.length).toBeGreaterThan(0);
    for (const path of bad) {
      const findings = scan(path);
      expect(findings.length).toBeGreaterThan(0);
      expect(new Set(findings.map((finding) => finding.ruleId))).toEqual(new Set([rule.id]));
      const marked = markedLines(path);
      // JSON cannot carry the marker; its fixture is checked by count of findings above.
      if (rule.language === "json") continue;
      const reported = new Map<string, number[]>();
      for (const finding of findings) {
        reported.set(finding.file, [...(reported.get(finding.file) ?? []), finding.range.start.line]);
      }
      expect(reported).toEqual(marked);
    }
  });

  test("stays quiet on its good fixture (no rule fires)", () => {
    const good = fixtures(rule.id, "good");
    expect(good.length).toBeGreaterThan(0);
    for (const path of good) expect(scan(path)).toEqual([]);
  });

  test("an inline suppression with a reason silences it", () => {
    for (const path of fixtures(rule.id, "suppressed")) {
      expect(readFileSync(join(REPO_ROOT, path), "utf8")).toContain(`ast-grep-ignore: ${rule.id} -- `);
      expect(scan(path)).toEqual([]);
    }
  });
});
