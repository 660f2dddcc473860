/**
 * Coverage gate: reads the lcov file written by
 *   bun test --coverage --coverage-reporter=lcov
 * and holds it against COVERAGE_POLICY (build/check/coverage/policy.ts): global line coverage,
 * and a higher per-file bar for the security-critical modules. Prints a table, names every file
 * below its bar, exits 1 on failure.
 *
 * Usage: bun build/check/coverage-gate.ts [--lcov coverage/lcov.info]
 */
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { evaluateCoverage, findCriticalSources } from "./coverage/evaluate.ts";
import { parseLcov } from "./coverage/lcov.ts";
import { COVERAGE_POLICY } from "./coverage/policy.ts";
import { renderCoverageReport } from "./coverage/report.ts";

const ROOT = resolve(import.meta.dir, "../..");

export function runCoverageGate(argv: readonly string[], root: string = ROOT): number {
  const flag = argv.indexOf("--lcov");
  const lcovArgument = flag >= 0 ? argv[flag + 1] : "coverage/lcov.info";
  if (lcovArgument === undefined) {
    console.error(
      "[COVERAGE] Error: --lcov needs a path. Fix: bun build/check/coverage-gate.ts --lcov coverage/lcov.info",
    );
    return 2;
  }
  const lcovPath = resolve(root, lcovArgument);
  if (!existsSync(lcovPath)) {
    console.error(
      `[COVERAGE] Error: ${lcovArgument} does not exist. Fix: run \`bun test --coverage --coverage-reporter=lcov\` first (bun run test:coverage).`,
    );
    return 1;
  }
  const recorded = parseLcov(readFileSync(lcovPath, "utf8"), root);
  const verdict = evaluateCoverage(recorded, COVERAGE_POLICY, findCriticalSources(root, COVERAGE_POLICY));
  const report = renderCoverageReport(verdict, COVERAGE_POLICY);
  if (verdict.passes) {
    console.log(report);
    console.log("[COVERAGE] ok");
    return 0;
  }
  console.error(report);
  return 1;
}

if (import.meta.main) process.exit(runCoverageGate(process.argv.slice(2)));
