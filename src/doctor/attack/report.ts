import { stripTerminalEscapes } from "../../core/response/terminal-text.ts";
import type { AttackReport } from "./run.ts";

/** The report as lines: per step its verdict, id and title, then the evidence; a summary last. */
export function attackReportText(report: AttackReport): string {
  const lines: string[] = [];
  for (const s of report.steps) {
    lines.push(`${s.verdict.padEnd(12)} ${s.id}: ${s.title}`);
    lines.push(`             ${stripTerminalEscapes(s.evidence).replace(/[\r\n]+/g, " ")}`);
  }
  if (report.sessionError) lines.push(`\nThe session reported: ${stripTerminalEscapes(report.sessionError)}`);
  const leaked = report.steps.filter((s) => s.verdict === "LEAKED").length;
  const unclear = report.steps.filter((s) => s.verdict === "inconclusive").length;
  lines.push("");
  if (leaked > 0)
    lines.push(
      `Result: LEAKED in ${leaked} of ${report.steps.length} steps. Do not run agents on this installation until it is fixed.`,
    );
  else if (unclear > 0)
    lines.push(`Result: ${unclear} of ${report.steps.length} steps could not be judged (see above).`);
  else lines.push(`Result: every one of ${report.steps.length} steps was refused or contained.`);
  return `${lines.join("\n")}\n`;
}
