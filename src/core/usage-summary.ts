import { auditDir, chainFiles, listLogs } from "./response/audit-files.ts";
import { streamLines } from "./response/audit-read.ts";
import { CORE_LOG } from "./response/audit-record.ts";

/** What the agents of one group spent on the model API on one UTC day, from the egress audit records. */
export interface UsageRow {
  group: string;
  day: string;
  input_tokens: number;
  output_tokens: number;
  tokens: number;
  /** Requests forwarded to the API. */
  calls: number;
  /** Requests the egress proxy refused (any reason). */
  refusals: number;
  /** Of those, refused by a spending budget. */
  budget_refusals: number;
}

function count(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : 0;
}

/** Reads every group's log (or one group's), streaming, and sums the egress records per group and day. */
export async function summarizeUsage(home: string, filter: { group?: string; day?: string } = {}): Promise<UsageRow[]> {
  const dir = auditDir(home);
  const logs = filter.group !== undefined ? [filter.group] : listLogs(dir).filter((l) => l !== CORE_LOG);
  const rows = new Map<string, UsageRow>();
  for (const log of logs) {
    for (const file of chainFiles(dir, log)) {
      for await (const line of streamLines(file)) {
        const r = line.record;
        if (r === null || r.kind !== "egress" || typeof r.ts !== "string") continue;
        const day = r.ts.slice(0, 10);
        if (filter.day !== undefined && day !== filter.day) continue;
        const key = `${log}\u0000${day}`;
        let row = rows.get(key);
        if (!row) {
          row = {
            group: log,
            day,
            input_tokens: 0,
            output_tokens: 0,
            tokens: 0,
            calls: 0,
            refusals: 0,
            budget_refusals: 0,
          };
          rows.set(key, row);
        }
        const d = (r.detail ?? {}) as Record<string, unknown>;
        if (d.outcome === "forwarded") {
          row.calls++;
          row.input_tokens += count(d.inputTokens);
          row.output_tokens += count(d.outputTokens);
          row.tokens = row.input_tokens + row.output_tokens;
        } else if (d.outcome === "refused") {
          row.refusals++;
          if (typeof d.budget === "string") row.budget_refusals++;
        }
      }
    }
  }
  return [...rows.values()].sort((a, b) =>
    a.day === b.day ? a.group.localeCompare(b.group) : a.day.localeCompare(b.day),
  );
}
