/**
 * Runs a grouped commit of the audit log off the main thread in one wake-up: fdatasync of the log, then the
 * head replaced (temporary file, fsync, rename). Through the thread pool the same commit took three tasks,
 * each waking a pool thread and then the main thread.
 */
import { closeSync, fdatasyncSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";

declare const self: Worker;

export interface CommitRequest {
  id: number;
  /** The log's descriptor (descriptors are shared by every thread of the process). */
  fd: number;
  head: string;
  text: string;
}

export type CommitAnswer = { id: number; ok: true } | { id: number; ok: false; code: string | null; message: string };

const encoder = new TextEncoder();

function replaceDurably(path: string, text: string): void {
  const tmp = `${path}.tmp`;
  try {
    const fd = openSync(tmp, "w", 0o600);
    try {
      const bytes = encoder.encode(text);
      let offset = 0;
      while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
}

self.onmessage = (event: MessageEvent<CommitRequest>) => {
  const { id, fd, head, text } = event.data;
  try {
    // The head names only records already durable: the log's fdatasync comes first.
    fdatasyncSync(fd);
    replaceDurably(head, text);
    self.postMessage({ id, ok: true } satisfies CommitAnswer);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    self.postMessage({
      id,
      ok: false,
      code: typeof code === "string" ? code : null,
      message: error instanceof Error ? error.message : String(error),
    } satisfies CommitAnswer);
  }
};
