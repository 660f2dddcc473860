import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { FileCoverage } from "./lcov.ts";
import type { CoverageBar, CoveragePolicy } from "./policy.ts";

export interface FileVerdict {
  readonly path: string;
  /** null: the file exists but no test loaded it, so bun wrote no record for it. */
  readonly coverage: FileCoverage | null;
  readonly linePercent: number;
  /** The critical bar this file is held to, or null when only the global bar applies. */
  readonly bar: CoverageBar | null;
  readonly passes: boolean;
}

export interface CoverageVerdict {
  readonly files: readonly FileVerdict[];
  readonly globalLinePercent: number;
  readonly globalPasses: boolean;
  readonly passes: boolean;
}

export function linePercent(coverage: Pick<FileCoverage, "linesFound" | "linesHit">): number {
  return coverage.linesFound === 0 ? 100 : (coverage.linesHit / coverage.linesFound) * 100;
}

export function matchesAny(path: string, patterns: readonly string[]): boolean {
  return patterns.some((pattern) => new Bun.Glob(pattern).match(path));
}

export function barFor(path: string, policy: CoveragePolicy): CoverageBar | null {
  let strictest: CoverageBar | null = null;
  for (const bar of policy.critical) {
    if (matchesAny(path, bar.patterns) && (strictest === null || bar.minLines > strictest.minLines)) strictest = bar;
  }
  return strictest;
}

function isCounted(path: string, policy: CoveragePolicy): boolean {
  return matchesAny(path, policy.include) && !matchesAny(path, policy.exclude);
}

/**
 * Holds the recorded coverage against the policy. `criticalSources` are the security-critical files
 * present on disk: one that no test loaded counts as 0% (bun only reports files a test imported).
 */
export function evaluateCoverage(
  recorded: readonly FileCoverage[],
  policy: CoveragePolicy,
  criticalSources: readonly string[] = [],
): CoverageVerdict {
  const counted = recorded.filter((file) => isCounted(file.path, policy));
  const verdicts: FileVerdict[] = counted.map((coverage) => {
    const bar = barFor(coverage.path, policy);
    const percent = linePercent(coverage);
    return { path: coverage.path, coverage, linePercent: percent, bar, passes: bar === null || percent >= bar.minLines };
  });
  const seen = new Set(counted.map((file) => file.path));
  for (const path of criticalSources) {
    const bar = barFor(path, policy);
    if (seen.has(path) || bar === null || !isCounted(path, policy)) continue;
    verdicts.push({ path, coverage: null, linePercent: 0, bar, passes: false });
  }
  verdicts.sort((a, b) => a.path.localeCompare(b.path));

  const linesFound = counted.reduce((sum, file) => sum + file.linesFound, 0);
  const linesHit = counted.reduce((sum, file) => sum + file.linesHit, 0);
  const globalLinePercent = linePercent({ linesFound, linesHit });
  const globalPasses = globalLinePercent >= policy.globalMinLines;
  return {
    files: verdicts,
    globalLinePercent,
    globalPasses,
    passes: globalPasses && verdicts.every((verdict) => verdict.passes),
  };
}

/** Security-critical source files on disk under `root`, for the not-loaded check. */
export function findCriticalSources(root: string, policy: CoveragePolicy): string[] {
  const found = new Set<string>();
  for (const bar of policy.critical) {
    for (const pattern of bar.patterns) {
      for (const path of new Bun.Glob(pattern).scanSync({ cwd: root, onlyFiles: true })) {
        const normalized = path.replaceAll("\\", "/");
        if (!/\.(ts|tsx|js|mjs)$/.test(normalized) || !isCounted(normalized, policy)) continue;
        if (hasRuntimeCode(readFileSync(join(root, normalized), "utf8"))) found.add(normalized);
      }
    }
  }
  return [...found].sort();
}

const TYPE_STRIPPER = new Bun.Transpiler({ loader: "ts" });

/** A file of only types and interfaces has nothing to execute, so bun never reports it. */
export function hasRuntimeCode(source: string): boolean {
  const emitted = TYPE_STRIPPER.transformSync(source).replace(/export\s*\{\s*\};?/g, "");
  return emitted.trim().length > 0;
}
