import { basename } from "node:path";
import { auditDir, chainFiles, headFile, listLogs, rotationNumbers } from "./audit-files.ts";
import type { AuditProblem } from "./audit-log.ts";
import { readHead, type StreamedLine, streamLines } from "./audit-read.ts";
import { CORE_LOG, GENESIS_HASH, isLogName, recordHash } from "./audit-record.ts";

export interface AuditNote {
  file: string;
  line: number | null;
  detail: string;
}

export interface LogVerifyResult {
  log: string;
  ok: boolean;
  records: number;
  problems: AuditProblem[];
  /** Not problems: crash artefacts and lines still being written, said so the reader knows. */
  notes: AuditNote[];
}

/** A head the log must contain, from a signed checkpoint. */
export interface PinnedHead {
  seq: number;
  hash: string;
  /** Where the pin comes from, for the message (e.g. "signed checkpoint #12"). */
  source: string;
}

export interface VerifyOptions {
  /** Per log: the latest signed head it must still contain. */
  pinned?: ReadonlyMap<string, PinnedHead>;
}

/** Problems kept per log; beyond this only the count grows (memory stays bounded on a wrecked log). */
const MAX_PROBLEMS = 1000;
/**
 * Records between full collections. JavaScriptCore lets the heap grow well past what a streamed read
 * keeps alive before it collects, so without this the process peaked near 110 MB at 1M records; a
 * full collection of the small live heap every 20k records costs a few ms and keeps it near 65 MB.
 */
const RECORDS_PER_COLLECTION = 20_000;
/** A log whose files change while it is read (rotation, retention on a live core) is read again. */
const MAX_ATTEMPTS = 4;

/**
 * Walks every log's hash chain (across rotated files) and checks it against the head file and, when
 * given, against signed checkpoints. Each problem names the file and line. The files are streamed:
 * memory does not grow with the size of the log. On a live core the head is read before the records,
 * so it can only name records that are already in the files.
 */
export async function verifyAudit(
  home: string,
  group?: string,
  options: VerifyOptions = {},
): Promise<LogVerifyResult[]> {
  const dir = auditDir(home);
  if (group !== undefined && !isLogName(group)) {
    throw new Error(
      `[AUDIT] Error: "${group}" is not a valid group name. Fix: use a name matching [a-z0-9][a-z0-9_-]{0,31} or _core.`,
    );
  }
  const names = new Set(group === undefined ? listLogs(dir) : [group]);
  if (group === undefined) for (const log of options.pinned?.keys() ?? []) names.add(log);
  const retained = await retentionStarts(dir);
  const results: LogVerifyResult[] = [];
  for (const log of [...names].sort())
    results.push(await verifyStable(dir, log, options.pinned?.get(log), retained.get(log)));
  return results;
}

/** Per log: where the core's retention let the kept chain start (`seq:prev`), from the core log. */
async function retentionStarts(dir: string): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  for (const file of chainFiles(dir, CORE_LOG)) {
    try {
      for await (const line of streamLines(file)) {
        const d = line.record?.detail as
          | { event?: unknown; log?: unknown; first_kept_seq?: unknown; first_kept_prev?: unknown }
          | undefined;
        if (d?.event !== "audit retention" || typeof d.log !== "string") continue;
        const set = out.get(d.log) ?? new Set<string>();
        set.add(`${d.first_kept_seq}:${d.first_kept_prev}`);
        out.set(d.log, set);
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
  }
  return out;
}

async function verifyStable(
  dir: string,
  log: string,
  pinned: PinnedHead | undefined,
  retained: Set<string> | undefined,
): Promise<LogVerifyResult> {
  let result: LogVerifyResult | null = null;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const before = rotationNumbers(dir, log).join(",");
    try {
      result = await verifyLog(dir, log, pinned, retained);
    } catch (error) {
      // A file renamed or removed between listing and reading it: the core rotated; read again.
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      result = null;
    }
    if (result !== null && rotationNumbers(dir, log).join(",") === before) return result;
  }
  return result ?? verifyLog(dir, log, pinned, retained);
}

interface Gap {
  problem: AuditProblem;
  from: number;
  to: number;
  seq: number;
}

async function verifyLog(
  dir: string,
  log: string,
  pinned: PinnedHead | undefined,
  retained: Set<string> | undefined,
): Promise<LogVerifyResult> {
  const head = await readHead(dir, log);
  const files = chainFiles(dir, log);
  const problems: AuditProblem[] = [];
  const notes: AuditNote[] = [];
  let dropped = 0;
  const add = (
    entry: { file: string; line: number | null },
    seq: number | null,
    what: AuditProblem["what"],
    detail: string,
  ): AuditProblem | null => {
    if (problems.length >= MAX_PROBLEMS) {
      dropped++;
      return null;
    }
    const problem = { log, file: entry.file, line: entry.line, seq, what, detail };
    problems.push(problem);
    return problem;
  };

  let expected = 1;
  let lastHash = GENESIS_HASH;
  let previous: StreamedLine | null = null;
  let previousHadProblem = false;
  let lastLine: StreamedLine | null = null;
  let records = 0;
  const gaps: Gap[] = [];
  const headSeq = head.kind === "ok" ? head.head.seq : null;
  let atHead: StreamedLine | null = null;
  let atPin: StreamedLine | null = null;
  let firstKept = 1;

  for (const [fileIndex, file] of files.entries()) {
    for await (const entry of streamLines(file)) {
      if (entry.torn) {
        if (fileIndex === files.length - 1) {
          notes.push({
            file: entry.file,
            line: entry.line,
            detail: "the last line is incomplete: a write in progress or cut short by a crash (not a record)",
          });
        } else {
          add(entry, null, "malformed", "a rotated file ends in an incomplete line");
        }
        continue;
      }
      lastLine = entry;
      const rec = entry.record;
      if (rec === null) {
        add(entry, null, "malformed", "the line is not an audit record");
        previousHadProblem = true;
        continue;
      }
      records++;
      if (records % RECORDS_PER_COLLECTION === 0) Bun.gc(true);
      if (previous === null && rec.seq > 1 && retained?.has(`${rec.seq}:${rec.prev}`)) {
        // The core removed the older files under its size budget and recorded where the chain resumes.
        notes.push({
          file: entry.file,
          line: entry.line,
          detail: `records 1..${rec.seq - 1} were removed by retention (recorded in the core log)`,
        });
        expected = rec.seq;
        lastHash = rec.prev;
        firstKept = rec.seq;
      }
      if (headSeq !== null && rec.seq === headSeq && atHead === null) atHead = entry;
      if (pinned && rec.seq === pinned.seq && atPin === null) atPin = entry;
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
        // Deleted, unless the missing records turn up later (then it was a move): decided when they do.
        const range = rec.seq - expected === 1 ? `record ${expected} is` : `records ${expected}..${rec.seq - 1} are`;
        const problem = add(entry, rec.seq, "deleted", `${range} missing before this line`);
        if (problem && gaps.length < MAX_PROBLEMS) gaps.push({ problem, from: expected, to: rec.seq, seq: rec.seq });
        hadProblem = true;
        expected = rec.seq + 1;
        lastHash = rec.hash;
      } else {
        const gap = gaps.find((g) => rec.seq >= g.from && rec.seq < g.to);
        if (gap) {
          // The other half of a move: the earlier gap was a reordering, not a deletion.
          if (gap.problem.what === "deleted") {
            gap.problem.what = "reordered";
            gap.problem.detail = `record ${gap.seq} comes before record ${rec.seq} (${entry.file} line ${entry.line})`;
          }
        } else {
          add(entry, rec.seq, "reordered", `record ${rec.seq} appears again after record ${expected - 1}`);
        }
        hadProblem = true;
      }
      previous = entry;
      previousHadProblem = hadProblem;
    }
  }

  const lastSeq = expected - 1;
  const headName = basename(headFile(dir, log));
  if (head.kind === "malformed") {
    add({ file: headName, line: null }, null, "malformed", "the head file is unreadable");
  } else if (head.kind === "missing") {
    if (records > 0 || files.length > 0)
      add({ file: headName, line: null }, null, "malformed", "the head file is missing");
  } else if (head.head.seq > lastSeq) {
    const at = lastLine ? { file: lastLine.file, line: lastLine.line + 1 } : { file: head.head.file, line: 1 };
    const seq = head.head.seq;
    const range = seq - lastSeq === 1 ? `record ${seq} is` : `records ${lastSeq + 1}..${seq} are`;
    add(at, lastSeq + 1, "truncated", `${range} missing from the end (the head names record ${seq})`);
  } else if (atHead?.record && atHead.record.hash !== head.head.hash) {
    add(atHead, head.head.seq, "edited", `record ${head.head.seq} differs from the head`);
  }

  if (pinned && pinned.seq >= firstKept && pinned.seq > 0) {
    if (files.length === 0) {
      add(
        { file: `${log}.jsonl`, line: null },
        pinned.seq,
        "deleted",
        `the log is gone, but ${pinned.source} names its record ${pinned.seq}`,
      );
    } else if (pinned.seq > lastSeq) {
      const at = lastLine ? { file: lastLine.file, line: lastLine.line + 1 } : { file: `${log}.jsonl`, line: 1 };
      add(
        at,
        lastSeq + 1,
        "truncated",
        `records up to ${pinned.seq} were signed in ${pinned.source} but end at ${lastSeq}`,
      );
    } else if (atPin?.record && atPin.record.hash !== pinned.hash) {
      add(atPin, pinned.seq, "edited", `record ${pinned.seq} differs from ${pinned.source}: the chain was rewritten`);
    }
  }
  if (dropped > 0) notes.push({ file: `${log}.jsonl`, line: null, detail: `${dropped} further problems not listed` });
  return { log, ok: problems.length === 0, records, problems, notes };
}
