import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
