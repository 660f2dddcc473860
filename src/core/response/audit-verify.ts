import { basename } from "node:path";
import { auditDir, chainFiles, headFile, listLogs } from "./audit-files.ts";
import type { AuditProblem } from "./audit-log.ts";
import { type LineRecord, readHead, readLines } from "./audit-read.ts";
import { GENESIS_HASH, isLogName, recordHash } from "./audit-record.ts";

export interface LogVerifyResult {
  log: string;
  ok: boolean;
  records: number;
  problems: AuditProblem[];
}

/**
 * Walks every log's hash chain (across rotated files) and checks it against the head file.
 * Each problem names the file and line: a deleted, edited or reordered line, a truncated tail,
 * or a line that is not a record at all.
 */
export async function verifyAudit(home: string, group?: string): Promise<LogVerifyResult[]> {
  const dir = auditDir(home);
  if (group !== undefined && !isLogName(group)) {
    throw new Error(
      `[AUDIT] Error: "${group}" is not a valid group name. Fix: use a name matching [a-z0-9][a-z0-9_-]{0,31} or _core.`,
    );
  }
  const logs = group === undefined ? listLogs(dir) : [group];
  const results: LogVerifyResult[] = [];
  for (const log of logs) results.push(await verifyLog(dir, log));
  return results;
}

async function verifyLog(dir: string, log: string): Promise<LogVerifyResult> {
  const lines: LineRecord[] = [];
  for (const file of chainFiles(dir, log)) lines.push(...(await readLines(file)));
  const problems: AuditProblem[] = [];
  const add = (
    entry: { file: string; line: number | null },
    seq: number | null,
    what: AuditProblem["what"],
    detail: string,
  ) => problems.push({ log, file: entry.file, line: entry.line, seq, what, detail });

  // Where each seq first appears, to tell a moved line from a deleted one.
  const firstIndexOf = new Map<number, number>();
  lines.forEach((l, i) => {
    if (l.record && !firstIndexOf.has(l.record.seq)) firstIndexOf.set(l.record.seq, i);
  });

  let expected = 1;
  let lastHash = GENESIS_HASH;
  let previous: LineRecord | null = null;
  let previousHadProblem = false;
  const owed = new Set<number>();
  const bySeq = new Map<number, LineRecord>();
  let records = 0;

  lines.forEach((entry, index) => {
    const rec = entry.record;
    if (rec === null) {
      add(entry, null, "malformed", "the line is not an audit record");
      previousHadProblem = true;
      return;
    }
    records++;
    let hadProblem = false;
    if (recordHash(rec) !== rec.hash) {
      add(entry, rec.seq, "edited", `record ${rec.seq} does not match its hash`);
      hadProblem = true;
      // Treat it as occupying the expected place so one edit is reported once.
      expected += 1;
      lastHash = rec.hash;
    } else if (rec.seq === expected) {
      if (rec.prev !== lastHash && !previousHadProblem && previous !== null) {
        add(
          previous,
          previous.record?.seq ?? null,
          "edited",
          `record ${rec.seq} does not chain to this line: it was rewritten`,
        );
        hadProblem = true;
      } else if (rec.prev !== lastHash && previous === null) {
        add(entry, rec.seq, "edited", `record ${rec.seq} does not start the chain`);
        hadProblem = true;
      }
      expected = rec.seq + 1;
      lastHash = rec.hash;
    } else if (rec.seq > expected) {
      const missing = firstMissingLater(expected, rec.seq, index, firstIndexOf);
      if (missing !== null) {
        const at = lines[firstIndexOf.get(missing) ?? -1];
        add(
          entry,
          rec.seq,
          "reordered",
          `record ${rec.seq} comes before record ${missing}${at ? ` (${at.file} line ${at.line})` : ""}`,
        );
        for (let s = expected; s < rec.seq; s++) owed.add(s);
      } else {
        const range = rec.seq - expected === 1 ? `record ${expected} is` : `records ${expected}..${rec.seq - 1} are`;
        add(entry, rec.seq, "deleted", `${range} missing before this line`);
      }
      hadProblem = true;
      expected = rec.seq + 1;
      lastHash = rec.hash;
    } else if (owed.has(rec.seq)) {
      // The other half of a move that was already reported.
      owed.delete(rec.seq);
      hadProblem = true;
    } else {
      add(entry, rec.seq, "reordered", `record ${rec.seq} appears again after record ${expected - 1}`);
      hadProblem = true;
    }
    if (!bySeq.has(rec.seq)) bySeq.set(rec.seq, entry);
    previous = entry;
    previousHadProblem = hadProblem;
  });

  checkHead(await readHead(dir, log), { dir, log, lines, lastSeq: expected - 1, bySeq, add });
  return { log, ok: problems.length === 0, records, problems };
}

/** The smallest seq in [from, to) that appears later in the chain, or null if all are gone. */
function firstMissingLater(from: number, to: number, index: number, firstIndexOf: Map<number, number>): number | null {
  // Bounded: a huge gap is a deletion; scanning it all would cost time for nothing.
  for (let s = from; s < to && s < from + 10_000; s++) {
    const at = firstIndexOf.get(s);
    if (at !== undefined && at > index) return s;
  }
  return null;
}

function checkHead(
  head: Awaited<ReturnType<typeof readHead>>,
  ctx: {
    dir: string;
    log: string;
    lines: LineRecord[];
    lastSeq: number;
    bySeq: Map<number, LineRecord>;
    add: (
      entry: { file: string; line: number | null },
      seq: number | null,
      what: AuditProblem["what"],
      detail: string,
    ) => void;
  },
): void {
  const headName = basename(headFile(ctx.dir, ctx.log));
  if (head.kind === "malformed") {
    ctx.add({ file: headName, line: null }, null, "malformed", "the head file is unreadable");
    return;
  }
  if (head.kind === "missing") {
    if (ctx.lines.length > 0) ctx.add({ file: headName, line: null }, null, "malformed", "the head file is missing");
    return;
  }
  const { seq, hash } = head.head;
  if (seq > ctx.lastSeq) {
    const last = ctx.lines[ctx.lines.length - 1];
    const at = last ? { file: last.file, line: last.line + 1 } : { file: head.head.file, line: 1 };
    const range = seq - ctx.lastSeq === 1 ? `record ${seq} is` : `records ${ctx.lastSeq + 1}..${seq} are`;
    ctx.add(at, ctx.lastSeq + 1, "truncated", `${range} missing from the end (the head names record ${seq})`);
    return;
  }
  const atHead = ctx.bySeq.get(seq);
  if (atHead?.record && atHead.record.hash !== hash) {
    ctx.add(atHead, seq, "edited", `record ${seq} differs from the head`);
  }
}
