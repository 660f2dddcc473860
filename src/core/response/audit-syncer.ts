import { IS_COMPILED } from "../../platform/compiled.ts";
import type { CommitAnswer, CommitRequest } from "./audit-syncer-worker.ts";

/** A quiet commit's head: where the thread publishes its completed commits, and who hears of a failure. */
interface QuietHead {
  done: Int32Array;
  /** The id of the last quiet commit posted for this head. */
  last: number;
  onFailure: (error: Error) => void;
}

/**
 * The audit log's grouped commits on one Worker thread of the process (see audit-syncer-worker.ts). The
 * Worker holds the process open only while an answered commit is in flight.
 */
export class AuditSyncer {
  private worker: Worker | null = null;
  private readonly waiting = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  private readonly quiet = new Map<string, QuietHead>();
  /** Heads whose `done` word the current Worker already holds (it is sent once per Worker). */
  private shared = new Set<string>();
  private serial = 0;

  constructor(private readonly specifier: string = workerSpecifier()) {}

  /** fdatasync of `fd`, then `head` replaced by `text` durably; rejects with the failing call's errno code. */
  commit(fd: number, head: string, text: string): Promise<void> {
    const worker = this.ensureWorker();
    const id = ++this.serial;
    if (this.waiting.size === 0) worker.ref();
    return new Promise<void>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      worker.postMessage({ id, fd, head, text } satisfies CommitRequest);
    });
  }

  /**
   * The same commit without an answer on success, so the main thread is not woken for it: the returned
   * function tells whether it has completed. A failure (or the thread's loss) goes to `onFailure`, the
   * latest one given for this head.
   */
  commitQuietly(fd: number, head: string, text: string, onFailure: (error: Error) => void): () => boolean {
    const worker = this.ensureWorker();
    const id = ++this.serial;
    let entry = this.quiet.get(head);
    if (!entry) {
      entry = { done: new Int32Array(new SharedArrayBuffer(4)), last: 0, onFailure };
      this.quiet.set(head, entry);
    }
    entry.last = id;
    entry.onFailure = onFailure;
    const done = entry.done;
    const first = !this.shared.has(head);
    if (first) this.shared.add(head);
    worker.postMessage({ id, fd, head, text, ...(first ? { done } : {}), quiet: true } satisfies CommitRequest);
    return () => Atomics.load(done, 0) >= id;
  }

  /** Resolves once every commit posted before it has ended (its failure, if any, already reported). */
  settle(): Promise<void> {
    const worker = this.ensureWorker();
    const id = ++this.serial;
    if (this.waiting.size === 0) worker.ref();
    return new Promise<void>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      worker.postMessage({ id, settle: true } satisfies CommitRequest);
    });
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(this.specifier);
    this.shared = new Set();
    worker.onmessage = (event: MessageEvent<CommitAnswer>) => {
      const answer = event.data;
      const waiter = this.waiting.get(answer.id);
      if (!waiter) {
        if (!answer.ok) this.quiet.get(answer.head)?.onFailure(failure(answer));
        return;
      }
      this.waiting.delete(answer.id);
      if (this.waiting.size === 0) worker.unref();
      if (answer.ok) waiter.resolve();
      else waiter.reject(failure(answer));
    };
    worker.onerror = (event) => this.lost(worker, `failed: ${event.message}`);
    // A thread that ended without an answer would leave its commits (and the log's close) waiting forever.
    worker.addEventListener("close", () => this.lost(worker, "ended"));
    worker.unref();
    this.worker = worker;
    return worker;
  }

  /** The Worker itself failed or ended (not a file operation): every waiting commit fails, a new Worker takes the next. */
  private lost(worker: Worker, what: string): void {
    if (this.worker !== worker) return;
    this.worker = null;
    const error = new Error(`the audit commit thread ${what}`);
    for (const waiter of this.waiting.values()) waiter.reject(error);
    this.waiting.clear();
    for (const entry of this.quiet.values()) if (Atomics.load(entry.done, 0) < entry.last) entry.onFailure(error);
    worker.terminate();
  }
}

function failure(answer: CommitAnswer & { ok: false }): Error {
  return Object.assign(new Error(answer.message), answer.code ? { code: answer.code } : {});
}

/** In a compiled binary the worker is an extra entry point addressed relative to the bundle root (src/). */
function workerSpecifier(): string {
  return IS_COMPILED
    ? "./core/response/audit-syncer-worker.ts"
    : new URL("./audit-syncer-worker.ts", import.meta.url).href;
}

let shared: AuditSyncer | null = null;
export function auditSyncer(): AuditSyncer {
  shared ??= new AuditSyncer();
  return shared;
}
