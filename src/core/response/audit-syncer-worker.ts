/**
 * Runs a grouped commit of the audit log off the main thread in one wake-up: fdatasync of the log, then the
 * head replaced (temporary file, fsync, rename). Through the thread pool the same commit took three tasks,
 * each waking a pool thread and then the main thread.
 *
 * A `quiet` commit answers only when it fails: its success is published in `done` (the last commit of that
 * head that completed), which the main thread reads when it needs to know, so it is not woken per commit.
 * Commits run in the order they were posted, so a later answer (or a `settle`) means every earlier one ended.
 */
import { closeSync, fdatasyncSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";

declare const self: Worker;

export type CommitRequest =
  | {
      id: number;
      /** The log's descriptor (descriptors are shared by every thread of the process). */
      fd: number;
      head: string;
      text: string;
      /** Slot 0 receives the id of each commit of this head that succeeded (sent with the first one). */
      done?: Int32Array;
      /** No answer on success. */
      quiet?: boolean;
    }
  | { id: number; settle: true };

export type CommitAnswer =
  | { id: number; ok: true }
  | { id: number; ok: false; head: string; code: string | null; message: string };

const encoder = new TextEncoder();
const doneOf = new Map<string, Int32Array>();

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
  const request = event.data;
  if ("settle" in request) {
    self.postMessage({ id: request.id, ok: true } satisfies CommitAnswer);
    return;
  }
  const { id, fd, head, text, quiet } = request;
  if (request.done) doneOf.set(head, request.done);
  const done = doneOf.get(head);
  try {
    // The head names only records already durable: the log's fdatasync comes first.
    fdatasyncSync(fd);
    replaceDurably(head, text);
    if (done) Atomics.store(done, 0, id);
    if (!quiet) self.postMessage({ id, ok: true } satisfies CommitAnswer);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    self.postMessage({
      id,
      ok: false,
      head,
      code: typeof code === "string" ? code : null,
      message: error instanceof Error ? error.message : String(error),
    } satisfies CommitAnswer);
  }
};
