/**
 * What the host can observe after a hostile session: owners, modes and contents of planted targets,
 * a whole tree before and after (so "changed nothing" is a comparison, not a hope), and a canary
 * listener that counts any connection the container makes to the host.
 */
import { createHash, randomBytes } from "node:crypto";
import { lstatSync, readdirSync, readFileSync, readlinkSync, type Stats } from "node:fs";
import { join } from "node:path";

export type EntryType = "file" | "dir" | "symlink" | "fifo" | "socket" | "other";

export interface HostEntry {
  type: EntryType;
  uid: number;
  gid: number;
  /** Permission bits only (e.g. 0o600). */
  mode: number;
  size: number;
  /** sha256 of a regular file's content, or a symlink's target. */
  content?: string;
}

function entryType(st: Stats): EntryType {
  if (st.isSymbolicLink()) return "symlink";
  if (st.isFile()) return "file";
  if (st.isDirectory()) return "dir";
  if (st.isFIFO()) return "fifo";
  if (st.isSocket()) return "socket";
  return "other";
}

/** lstat of a host path (links are not followed), or null when nothing is there. */
export function hostEntry(path: string): HostEntry | null {
  let st: Stats;
  try {
    st = lstatSync(path);
  } catch {
    return null;
  }
  const type = entryType(st);
  const entry: HostEntry = { type, uid: st.uid, gid: st.gid, mode: st.mode & 0o7777, size: st.size };
  if (type === "file") entry.content = createHash("sha256").update(readFileSync(path)).digest("hex");
  if (type === "symlink") entry.content = readlinkSync(path);
  return entry;
}

/** Every entry under `root` (root itself as ""), links not followed. */
export function snapshotTree(root: string): Map<string, HostEntry> {
  const out = new Map<string, HostEntry>();
  const walk = (rel: string) => {
    const entry = hostEntry(join(root, rel));
    if (!entry) return;
    out.set(rel, entry);
    if (entry.type !== "dir") return;
    for (const name of readdirSync(join(root, rel)).sort()) walk(rel === "" ? name : `${rel}/${name}`);
  };
  walk("");
  return out;
}

/** Human-readable differences between two snapshots; [] when nothing changed. */
export function diffTrees(before: Map<string, HostEntry>, after: Map<string, HostEntry>): string[] {
  const diffs: string[] = [];
  for (const [path, a] of before) {
    const b = after.get(path);
    if (!b) diffs.push(`removed ${path || "."}`);
    else if (JSON.stringify(a) !== JSON.stringify(b))
      diffs.push(`changed ${path || "."}: ${JSON.stringify(a)} → ${JSON.stringify(b)}`);
  }
  for (const path of after.keys()) if (!before.has(path)) diffs.push(`added ${path}`);
  return diffs;
}

/** A unique secret-looking string: if it ever shows up where it should not, it leaked from where it was planted. */
export function canary(label: string): string {
  return `CANARY-${label}-${randomBytes(12).toString("hex")}`;
}

export { type HostListener, startHostListener } from "../../../src/doctor/attack/listener.ts";
