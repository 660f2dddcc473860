import { writeSync } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { mkdir, open, rename, rm, writeFile } from "node:fs/promises";
import { auditSyncer } from "./audit-syncer.ts";

/**
 * The file operations the audit log needs, behind an interface so tests can inject failures
 * (running as root, a read-only directory does not stop writes).
 */
export interface AppendHandle {
  /** Size of the file when it was opened. */
  readonly initialSize: number;
  /** Appends all of `data` and makes it durable (fdatasync) before resolving. */
  append(data: Uint8Array): Promise<void>;
  /** Appends all of `data` to the file (page cache); `sync` makes it durable later. */
  write(data: Uint8Array): Promise<void>;
  sync(): Promise<void>;
  /**
   * `sync`, then `head` replaced by `text` atomically and durably, as one operation. Without it the log
   * calls `sync` and `AuditStorage.replaceAtomically` in turn.
   */
  commit?(head: string, text: string): Promise<void>;
  /**
   * `commit` started without waiting for it: the returned function tells whether it has completed; a
   * failure is given to `onFailure`. With it, `settle` resolves once every such commit has ended.
   */
  commitQuietly?(head: string, text: string, onFailure: (error: Error) => void): () => boolean;
  settle?(): Promise<void>;
  /** Cuts the file back to `size` bytes (used to undo a partial append). */
  truncate(size: number): Promise<void>;
  close(): Promise<void>;
}

export interface AuditStorage {
  ensureDir(dir: string): Promise<void>;
  openAppend(path: string): Promise<AppendHandle>;
  /** Replaces `path` with `text` atomically and durably (temporary file, fsync, rename). */
  replaceAtomically(path: string, text: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
}

class FileAppendHandle implements AppendHandle {
  constructor(
    private readonly handle: FileHandle,
    readonly initialSize: number,
  ) {}

  async append(data: Uint8Array): Promise<void> {
    await this.write(data);
    await this.handle.datasync();
  }

  sync(): Promise<void> {
    return this.handle.datasync();
  }

  // One wake-up of the commit thread instead of three thread-pool round trips (datasync, head, rename).
  commit(head: string, text: string): Promise<void> {
    return auditSyncer().commit(this.handle.fd, head, text);
  }

  // Nothing wakes the main thread when it succeeds (the grouped commit at light load is one per call).
  commitQuietly(head: string, text: string, onFailure: (error: Error) => void): () => boolean {
    return auditSyncer().commitQuietly(this.handle.fd, head, text, onFailure);
  }

  settle(): Promise<void> {
    return auditSyncer().settle();
  }

  // A write to the page cache takes microseconds; the async API's thread-pool round trip would cost more
  // than the write and sits on every call's critical path (the reply waits for its record). fsync stays async.
  async write(data: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < data.length) {
      const bytesWritten = writeSync(this.handle.fd, data, offset, data.length - offset);
      if (bytesWritten <= 0) throw new Error("short write to the audit log");
      offset += bytesWritten;
    }
  }

  async truncate(size: number): Promise<void> {
    await this.handle.truncate(size);
    await this.handle.datasync();
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

export const fileAuditStorage: AuditStorage = {
  async ensureDir(dir) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  },

  async openAppend(path) {
    const handle = await open(path, "a", 0o600);
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) throw new Error(`${path} is not a regular file`);
      return new FileAppendHandle(handle, stat.size);
    } catch (error) {
      await handle.close();
      throw error;
    }
  },

  // Runs after every grouped commit. writeFile with `flush` opens, writes, fsyncs and closes in one
  // thread-pool task: two round trips per head (that and the rename) instead of five. Inline (sync) calls
  // were tried: creating and renaming a file can take a slow disk's journal lock, on the main thread.
  async replaceAtomically(path, text) {
    const tmp = `${path}.tmp`;
    try {
      await writeFile(tmp, text, { mode: 0o600, flush: true });
      await rename(tmp, path);
    } catch (error) {
      await rm(tmp, { force: true }).catch(() => undefined);
      throw error;
    }
  },

  rename(from, to) {
    return rename(from, to);
  },
};
