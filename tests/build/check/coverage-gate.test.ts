import { afterAll, afterEach, beforeEach, describe, expect, mock, spyOn, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  barFor,
  evaluateCoverage,
  findCriticalSources,
  hasRuntimeCode,
} from "../../../build/check/coverage/evaluate.ts";
import { type FileCoverage, parseLcov } from "../../../build/check/coverage/lcov.ts";
import { COVERAGE_POLICY, type CoveragePolicy } from "../../../build/check/coverage/policy.ts";
import { renderCoverageReport } from "../../../build/check/coverage/report.ts";
import { runCoverageGate } from "../../../build/check/coverage-gate.ts";

const scratch = mkdtempSync(join(tmpdir(), "carapace-coverage-gate-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const POLICY: CoveragePolicy = {
  include: ["src/**"],
  exclude: ["**/*.d.ts"],
  globalMinLines: 80,
  critical: [
    { name: "pipeline", patterns: ["src/core/pipeline/**"], minLines: 90 },
    { name: "wire", patterns: ["src/protocol/wire.ts"], minLines: 95 },
  ],
};

function file(path: string, linesHit: number, linesFound = 100): FileCoverage {
  return { path, linesFound, linesHit, functionsFound: 4, functionsHit: 4 };
}

describe("parseLcov", () => {
  test("reads bun's summary records and makes paths repository-relative", () => {
    const lcov = [
      "TN:",
      "SF:/repo/src/a.ts",
      "FNF:2",
      "FNH:1",
      "DA:1,1",
      "DA:2,0",
      "LF:2",
      "LH:1",
      "end_of_record",
      "SF:src/b.ts",
      "DA:1,3",
      "DA:2,0",
      "DA:3,1",
      "FNDA:0,f",
      "FNDA:2,g",
      "end_of_record",
    ].join("\n");
    expect(parseLcov(lcov, "/repo")).toEqual([
      { path: "src/a.ts", linesFound: 2, linesHit: 1, functionsFound: 2, functionsHit: 1 },
      { path: "src/b.ts", linesFound: 3, linesHit: 2, functionsFound: 2, functionsHit: 1 },
    ]);
  });

  test("refuses a truncated record", () => {
    expect(() => parseLcov("SF:src/a.ts\nDA:1,1\n", "/repo")).toThrow("no end_of_record");
  });
});

describe("evaluateCoverage", () => {
  test("passes when the total and every critical file meet their bars", () => {
    const verdict = evaluateCoverage([file("src/core/pipeline/stage.ts", 95), file("src/util.ts", 70)], POLICY);
    expect(verdict.globalLinePercent).toBe(82.5);
    expect(verdict.passes).toBe(true);
  });

  test("fails on the global bar even when each critical file passes", () => {
    const verdict = evaluateCoverage([file("src/core/pipeline/stage.ts", 90), file("src/util.ts", 50)], POLICY);
    expect(verdict.globalPasses).toBe(false);
    expect(verdict.passes).toBe(false);
  });

  test("fails a critical file below its own bar even when the total is high", () => {
    const verdict = evaluateCoverage([file("src/protocol/wire.ts", 94), file("src/util.ts", 1000, 1000)], POLICY);
    expect(verdict.globalPasses).toBe(true);
    expect(verdict.files.filter((f) => !f.passes).map((f) => f.path)).toEqual(["src/protocol/wire.ts"]);
  });

  test("counts a critical file no test loaded as 0% and ignores files outside `include`", () => {
    const verdict = evaluateCoverage([file("src/util.ts", 100), file("tests/helper.ts", 0)], POLICY, [
      "src/core/pipeline/untested.ts",
    ]);
    expect(verdict.files.map((f) => [f.path, f.passes])).toEqual([
      ["src/core/pipeline/untested.ts", false],
      ["src/util.ts", true],
    ]);
    expect(verdict.globalLinePercent).toBe(100);
  });

  test("a file matching several bars is held to the highest", () => {
    const policy: CoveragePolicy = {
      ...POLICY,
      critical: [...POLICY.critical, { name: "everything", patterns: ["src/**"], minLines: 85 }],
    };
    expect(barFor("src/protocol/wire.ts", policy)?.minLines).toBe(95);
    expect(barFor("src/other.ts", policy)?.minLines).toBe(85);
    expect(barFor("src/other.ts", POLICY)).toBeNull();
  });

  test("the project policy holds the security-critical modules to 90% and the rest to 80% overall", () => {
    expect(COVERAGE_POLICY.globalMinLines).toBe(80);
    for (const path of [
      "src/core/pipeline/validate.ts",
      "src/protocol/wire.ts",
      "src/core/response/sanitize.ts",
      "src/core/sessions.ts",
      "src/core/sessions/identity.ts",
      "plugins/memory/fts.ts",
      "plugins/memory/store.ts",
      "src/storage/group-db.ts",
      "src/container/agent-tree.ts",
    ]) {
      expect(barFor(path, COVERAGE_POLICY)?.minLines).toBe(90);
    }
    expect(barFor("src/cli/audit.ts", COVERAGE_POLICY)).toBeNull();
  });
});

describe("findCriticalSources", () => {
  test("lists critical files on disk, skipping files that hold only types", () => {
    const root = join(scratch, "sources");
    mkdirSync(join(root, "src/core/pipeline"), { recursive: true });
    writeFileSync(join(root, "src/core/pipeline/stage.ts"), "export const stage = () => 1;\n");
    writeFileSync(join(root, "src/core/pipeline/types.ts"), "export interface Stage { run(): void }\n");
    writeFileSync(join(root, "src/core/other.ts"), "export const other = 1;\n");
    expect(findCriticalSources(root, POLICY)).toEqual(["src/core/pipeline/stage.ts"]);
    expect(hasRuntimeCode("import type { A } from './a.ts';\nexport type B = A;\n")).toBe(false);
  });
});

describe("renderCoverageReport", () => {
  test("prints a table and names every file below its bar", () => {
    const verdict = evaluateCoverage([file("src/protocol/wire.ts", 50), file("src/util.ts", 60)], POLICY, [
      "src/core/pipeline/stage.ts",
    ]);
    const report = renderCoverageReport(verdict, POLICY);
    expect(report).toContain("File");
    expect(report).toContain("[COVERAGE] below bar: src/protocol/wire.ts: 50.00% lines, needs 95% (wire)");
    expect(report).toContain("[COVERAGE] below bar: src/core/pipeline/stage.ts: not loaded by any test, needs 90%");
    expect(report).toContain("[COVERAGE] Error: global line coverage 55.00% is below 80%.");
    expect(report).toMatch(/src\/util\.ts +\| 60\.00 .*\| low/);
  });
});

describe("runCoverageGate on a real bun lcov file", () => {
  const printed: string[] = [];
  beforeEach(() => {
    printed.length = 0;
    const capture = (...parts: unknown[]) => void printed.push(parts.join(" "));
    spyOn(console, "log").mockImplementation(capture);
    spyOn(console, "error").mockImplementation(capture);
  });
  afterEach(() => mock.restore());

  function project(name: string, testBody: string): string {
    const root = join(scratch, name);
    mkdirSync(join(root, "src/core/pipeline"), { recursive: true });
    mkdirSync(join(root, "tests"), { recursive: true });
    writeFileSync(
      join(root, "src/core/pipeline/stage.ts"),
      [
        "export function stage(x: number): string {",
        "  if (x > 0) {",
        '    return "positive";',
        "  }",
        '  return "other";',
        "}",
        "",
      ].join("\n"),
    );
    writeFileSync(
      join(root, "tests/stage.test.ts"),
      `import { expect, test } from "bun:test";\nimport { stage } from "../src/core/pipeline/stage.ts";\n${testBody}\n`,
    );
    const run = Bun.spawnSync(["bun", "test", "--coverage", "--coverage-reporter=lcov"], {
      cwd: root,
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(run.exitCode).toBe(0);
    return root;
  }

  test("exit 0 when the pipeline file is fully covered", () => {
    const root = project(
      "covered",
      'test("both", () => { expect(stage(1)).toBe("positive"); expect(stage(0)).toBe("other"); });',
    );
    expect(runCoverageGate([], root)).toBe(0);
    expect(printed.join("\n")).toContain("[COVERAGE] ok");
  });

  test("exit 1 when a pipeline branch is never run", () => {
    const root = project("uncovered", 'test("one", () => { expect(stage(0)).toBe("other"); });');
    expect(runCoverageGate([], root)).toBe(1);
    expect(printed.join("\n")).toContain("[COVERAGE] below bar: src/core/pipeline/stage.ts: 75.00% lines, needs 90%");
  });

  test("exit 1 with a Fix: line when the lcov file is missing", () => {
    expect(runCoverageGate(["--lcov", "nowhere/lcov.info"], scratch)).toBe(1);
    expect(printed.join("\n")).toContain("[COVERAGE] Error: nowhere/lcov.info does not exist. Fix:");
  });
});
