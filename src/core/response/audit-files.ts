import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { homePath } from "../../config/home.ts";
import { isLogName } from "./audit-record.ts";

/**
 * File layout under `<home>/data/audit/`: `<log>.jsonl` is the live file, `<log>.<n>.jsonl` the
 * rotated ones (n = 1, 2, … oldest first), `<log>.head` the chain head kept outside the log.
 */
export function auditDir(home: string): string {
  return homePath(home, "data/audit");
}

export function liveFile(dir: string, log: string): string {
  return join(dir, `${log}.jsonl`);
}

export function rotatedFile(dir: string, log: string, n: number): string {
  return join(dir, `${log}.${n}.jsonl`);
}

export function headFile(dir: string, log: string): string {
  return join(dir, `${log}.head`);
}

export interface HeadState {
  seq: number;
  hash: string;
  /** Base name of the file holding record `seq`. */
  file: string;
}

export function parseHead(text: string): HeadState | null {
  try {
    const v = JSON.parse(text) as Partial<HeadState>;
    if (Number.isSafeInteger(v.seq) && typeof v.hash === "string" && typeof v.file === "string") {
      return { seq: v.seq as number, hash: v.hash, file: v.file };
    }
  } catch {
    // Unreadable head: reported by the caller.
  }
  return null;
}

const FILE_NAME = /^(.+?)(?:\.(\d{1,9}))?\.(jsonl|head)$/;

/** Log names present in the directory (any of their files), sorted. */
export function listLogs(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const names = new Set<string>();
  for (const entry of readdirSync(dir)) {
    const m = FILE_NAME.exec(entry);
    if (m?.[1] !== undefined && isLogName(m[1])) names.add(m[1]);
  }
  return [...names].sort();
}

/** Rotation numbers of a log's rotated files, ascending (oldest first). */
export function rotationNumbers(dir: string, log: string): number[] {
  if (!existsSync(dir)) return [];
  const out: number[] = [];
  for (const entry of readdirSync(dir)) {
    const m = FILE_NAME.exec(entry);
    if (m?.[1] === log && m[2] !== undefined && m[3] === "jsonl") out.push(Number(m[2]));
  }
  return out.sort((a, b) => a - b);
}

/** A log's files in chain order: rotated ones oldest first, then the live file if present. */
export function chainFiles(dir: string, log: string): string[] {
  const files = rotationNumbers(dir, log).map((n) => rotatedFile(dir, log, n));
  const live = liveFile(dir, log);
  if (existsSync(live)) files.push(live);
  return files;
}
