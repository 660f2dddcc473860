import { isAbsolute, relative } from "node:path";

/** Line and function counts of one source file, as bun's lcov reporter writes them. */
export interface FileCoverage {
  /** Repository-relative path with forward slashes. */
  readonly path: string;
  readonly linesFound: number;
  readonly linesHit: number;
  readonly functionsFound: number;
  readonly functionsHit: number;
}

/**
 * Parses an lcov tracefile. Uses the LF/LH/FNF/FNH summary records when present and falls back
 * to counting DA/FNDA lines, so it reads both bun's output and other lcov writers'.
 */
export function parseLcov(text: string, root: string): FileCoverage[] {
  const files: FileCoverage[] = [];
  let current: MutableRecord | null = null;
  for (const rawLine of text.split("\n")) {
    const line = rawLine.trim();
    if (line.startsWith("SF:")) {
      current = emptyRecord(toRepoPath(line.slice(3), root));
    } else if (line === "end_of_record") {
      if (current) files.push(finish(current));
      current = null;
    } else if (current) {
      readRecordLine(current, line);
    }
  }
  if (current) throw new Error(`lcov record for ${current.path} has no end_of_record`);
  return files;
}

interface MutableRecord {
  path: string;
  summary: { lf?: number; lh?: number; fnf?: number; fnh?: number };
  lineHits: Map<number, number>;
  functionHits: Map<string, number>;
}

function emptyRecord(path: string): MutableRecord {
  return { path, summary: {}, lineHits: new Map(), functionHits: new Map() };
}

function readRecordLine(record: MutableRecord, line: string): void {
  const colon = line.indexOf(":");
  if (colon < 0) return;
  const tag = line.slice(0, colon);
  const value = line.slice(colon + 1);
  switch (tag) {
    case "DA": {
      const [lineNumber, hits] = value.split(",");
      const number = Number(lineNumber);
      record.lineHits.set(number, (record.lineHits.get(number) ?? 0) + Number(hits));
      break;
    }
    case "FNDA": {
      const comma = value.indexOf(",");
      const name = value.slice(comma + 1);
      record.functionHits.set(name, (record.functionHits.get(name) ?? 0) + Number(value.slice(0, comma)));
      break;
    }
    case "LF":
      record.summary.lf = Number(value);
      break;
    case "LH":
      record.summary.lh = Number(value);
      break;
    case "FNF":
      record.summary.fnf = Number(value);
      break;
    case "FNH":
      record.summary.fnh = Number(value);
      break;
  }
}

function finish(record: MutableRecord): FileCoverage {
  const countedHits = [...record.lineHits.values()].filter((hits) => hits > 0).length;
  const countedFunctionHits = [...record.functionHits.values()].filter((hits) => hits > 0).length;
  return {
    path: record.path,
    linesFound: record.summary.lf ?? record.lineHits.size,
    linesHit: record.summary.lh ?? countedHits,
    functionsFound: record.summary.fnf ?? record.functionHits.size,
    functionsHit: record.summary.fnh ?? countedFunctionHits,
  };
}

function toRepoPath(path: string, root: string): string {
  const repoRelative = isAbsolute(path) ? relative(root, path) : path;
  return repoRelative.replaceAll("\\", "/").replace(/^\.\//, "");
}
