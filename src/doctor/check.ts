export type Level = "pass" | "warn" | "fail";

export interface CheckResult {
  id: string;
  title: string;
  level: Level;
  detail: string;
  /** What to do about a warn or fail. */
  fix?: string;
}

export type Posture = "green" | "yellow" | "red";

/** Green: everything passes. Yellow: warnings only. Red: at least one failure. */
export function posture(results: readonly CheckResult[]): Posture {
  if (results.some((r) => r.level === "fail")) return "red";
  if (results.some((r) => r.level === "warn")) return "yellow";
  return "green";
}
