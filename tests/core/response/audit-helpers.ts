import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import type { AuditEntry } from "../../../src/core/response/audit-record.ts";
import { type AppendHandle, type AuditStorage, fileAuditStorage } from "../../../src/core/response/audit-storage.ts";

export function tempHome(): { home: string; dir: string; cleanup: () => void } {
  const home = mkdtempSync(join(tmpdir(), "carapace-audit-"));
  return { home, dir: join(home, "data", "audit"), cleanup: () => rmSync(home, { recursive: true, force: true }) };
}

export function entry(i: number, extra: Partial<AuditEntry> = {}): AuditEntry {
  return {
    kind: "routed",
    outcome: "ok",
    group: "work",
    session: "s-1",
    topic: "tool.invoke.hello.echo",
    correlation: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
    ...extra,
  };
}

export function readLinesOf(file: string): string[] {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l !== "");
}

export function writeLinesTo(file: string, lines: string[]): void {
  writeFileSync(file, lines.map((l) => `${l}\n`).join(""));
}

/** The real storage with switches to make appends, truncates or head writes fail, and call counters. */
export function faultyStorage() {
  const faults = { append: false, truncate: false, head: false, partial: false, sync: false };
  const calls = { append: 0, head: 0, failedSyncs: 0 };
  const storage: AuditStorage = {
    ensureDir: (dir) => fileAuditStorage.ensureDir(dir),
    rename: (from, to) => fileAuditStorage.rename(from, to),
    async replaceAtomically(path, text) {
      calls.head++;
      if (faults.head) throw Object.assign(new Error("no space"), { code: "ENOSPC" });
      return fileAuditStorage.replaceAtomically(path, text);
    },
    async openAppend(path) {
      const real = await fileAuditStorage.openAppend(path);
      const handle: AppendHandle = {
        initialSize: real.initialSize,
        async append(data) {
          calls.append++;
          if (faults.partial) {
            // Half a batch reaches the disk before the failure.
            await real.append(data.subarray(0, Math.floor(data.length / 2)));
            throw Object.assign(new Error("no space"), { code: "ENOSPC" });
          }
          if (faults.append) throw Object.assign(new Error("I/O error"), { code: "EIO" });
          return real.append(data);
        },
        async write(data) {
          calls.append++;
          if (faults.append) throw Object.assign(new Error("I/O error"), { code: "EIO" });
          return real.write(data);
        },
        async sync() {
          if (faults.sync) {
            calls.failedSyncs++;
            throw Object.assign(new Error("I/O error"), { code: "EIO" });
          }
          return real.sync();
        },
        async truncate(size) {
          if (faults.truncate) throw Object.assign(new Error("I/O error"), { code: "EIO" });
          return real.truncate(size);
        },
        close: () => real.close(),
      };
      return handle;
    },
  };
  return { storage, faults, calls };
}

type Step = "sync" | "open" | "head";

/**
 * The real files with a model of what a machine crash keeps: a file's bytes up to its last sync are
 * durable, the rest is lost at `crash()` unless the file is named in `keep` (the kernel wrote it back on its
 * own); `torn` bytes of a lost part stay behind as a cut-short line. Any step can be held (for paths that
 * match) or made to fail; after `crash()` every operation of the dead process hangs, even one already under
 * way. Renames and creations are durable at once (the journal keeps them in order).
 */
/** A handle of the fake: its file's current path (renames follow it) and the order it was opened in. */
export interface FakeHandle {
  path: string;
  index: number;
}

export function crashStorage() {
  const durable = new Map<string, number>();
  const open = new Set<FakeHandle & { close: () => Promise<void> }>();
  let opened = 0;
  const holds = new Map<Step, { match: (h: FakeHandle) => boolean; gate: Promise<void>; release: () => void }>();
  const failing = new Set<Step>();
  const renames: { from: string; to: string }[] = [];
  const synced: string[] = [];
  let dead = false;
  const never = new Promise<never>(() => {});
  const step = async <T>(kind: Step, h: FakeHandle, run: () => Promise<T>): Promise<T> => {
    if (dead) return never;
    const hold = holds.get(kind);
    if (hold?.match(h)) await hold.gate;
    if (dead) return never;
    if (failing.has(kind)) throw Object.assign(new Error("I/O error"), { code: "EIO" });
    const result = await run();
    return dead ? never : result;
  };
  const sizeOf = (path: string) => (existsSync(path) ? statSync(path).size : 0);
  const storage: AuditStorage = {
    ensureDir: (dir) => fileAuditStorage.ensureDir(dir),
    rename: (from, to) =>
      step("open", { path: to, index: -1 }, async () => {
        await fileAuditStorage.rename(from, to);
        renames.push({ from, to });
        for (const h of open) if (h.path === from) h.path = to;
        const size = durable.get(from);
        durable.delete(from);
        if (size !== undefined) durable.set(to, size);
      }),
    replaceAtomically: (path, text) =>
      step("head", { path, index: -1 }, () => fileAuditStorage.replaceAtomically(path, text)),
    openAppend: (path) =>
      step("open", { path, index: opened }, async () => {
        const real = await fileAuditStorage.openAppend(path);
        const at = { path, index: opened++, close: () => real.close() };
        open.add(at);
        if (!durable.has(path)) durable.set(path, real.initialSize);
        const sync = () => {
          const size = sizeOf(at.path);
          return step("sync", at, async () => {
            await real.sync();
            synced.push(at.path);
            durable.set(at.path, Math.max(durable.get(at.path) ?? 0, size));
          });
        };
        const handle: AppendHandle = {
          initialSize: real.initialSize,
          append: async (data) => {
            await handle.write(data);
            await sync();
          },
          write: (data) => (dead ? never : real.write(data)),
          sync,
          truncate: async (size) => {
            if (dead) return never;
            await real.truncate(size);
            durable.set(at.path, Math.min(durable.get(at.path) ?? size, size));
          },
          close: async () => {
            open.delete(at);
            await real.close();
          },
        };
        return handle;
      }),
  };
  return {
    storage,
    renames,
    synced,
    failing,
    /** How many files have been opened so far (a handle's `index` counts from 0). */
    get opened(): number {
      return opened;
    },
    /** Holds every `kind` step (of the handles or paths `match` takes) until `release`. */
    hold(kind: Step, match: (h: FakeHandle) => boolean = () => true): void {
      let release = () => {};
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      holds.set(kind, { match, gate, release });
    },
    release(kind: Step): void {
      holds.get(kind)?.release();
      holds.delete(kind);
    },
    /** The machine stops: each file keeps its durable bytes (all of them for `keep`, by base name). */
    crash(options: { keep?: string[]; torn?: number } = {}): void {
      dead = true;
      // The kernel closes a dead process's descriptors.
      for (const h of open) void h.close().catch(() => undefined);
      open.clear();
      for (const [path, size] of durable) {
        if (!existsSync(path) || options.keep?.includes(basename(path))) continue;
        const bytes = readFileSync(path);
        if (bytes.length <= size) continue;
        const torn = Math.min(options.torn ?? 0, bytes.length - size);
        writeFileSync(path, bytes.subarray(0, size + torn));
      }
    },
  };
}
