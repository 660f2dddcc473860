import type { CoverageVerdict, FileVerdict } from "./evaluate.ts";
import type { CoveragePolicy } from "./policy.ts";

const HEADER = ["File", "% Lines", "Lines hit", "% Funcs", "Bar", "Status"] as const;

function percent(value: number): string {
  return value.toFixed(2);
}

function row(verdict: FileVerdict, policy: CoveragePolicy): string[] {
  const coverage = verdict.coverage;
  const bar = verdict.bar ? `${verdict.bar.minLines} (${verdict.bar.name})` : `${policy.globalMinLines} (global)`;
  const belowGlobal = verdict.bar === null && verdict.linePercent < policy.globalMinLines;
  const status = !verdict.passes ? "FAIL" : belowGlobal ? "low" : "ok";
  if (coverage === null) return [verdict.path, "-", "not loaded by any test", "-", bar, status];
  const funcs = coverage.functionsFound === 0 ? 100 : (coverage.functionsHit / coverage.functionsFound) * 100;
  return [
    verdict.path,
    percent(verdict.linePercent),
    `${coverage.linesHit}/${coverage.linesFound}`,
    percent(funcs),
    bar,
    status,
  ];
}

function renderTable(rows: string[][]): string {
  const widths = HEADER.map((title, column) => Math.max(title.length, ...rows.map((cells) => cells[column]?.length ?? 0)));
  const format = (cells: readonly string[]) => cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(" | ");
  const rule = widths.map((width) => "-".repeat(width)).join("-|-");
  return [format(HEADER), rule, ...rows.map(format)].join("\n");
}

/** The full report: a per-file table, then one line per failure naming the file and its bar. */
export function renderCoverageReport(verdict: CoverageVerdict, policy: CoveragePolicy): string {
  const lines = [renderTable(verdict.files.map((file) => row(file, policy))), ""];
  lines.push(
    `[COVERAGE] global lines ${percent(verdict.globalLinePercent)}% (bar ${policy.globalMinLines}%): ${verdict.globalPasses ? "ok" : "FAIL"}`,
  );
  for (const file of verdict.files.filter((candidate) => !candidate.passes)) {
    const bar = file.bar;
    if (bar === null) continue;
    const measured = file.coverage === null ? "not loaded by any test" : `${percent(file.linePercent)}% lines`;
    lines.push(`[COVERAGE] below bar: ${file.path}: ${measured}, needs ${bar.minLines}% (${bar.name})`);
  }
  if (!verdict.globalPasses) {
    lines.push(
      `[COVERAGE] Error: global line coverage ${percent(verdict.globalLinePercent)}% is below ${policy.globalMinLines}%. Fix: add tests for the files marked "low" above.`,
    );
  }
  if (verdict.files.some((file) => !file.passes)) {
    lines.push(
      "[COVERAGE] Error: security-critical files are below their bar. Fix: add tests that reach the uncovered lines of the files named above.",
    );
  }
  return lines.join("\n");
}
