import { IS_COMPILED } from "../../platform/compiled.ts";
import type { CommitAnswer, CommitRequest } from "./audit-syncer-worker.ts";

/**
 * The audit log's grouped commits on one Worker thread of the process (see audit-syncer-worker.ts). The
 * Worker holds the process open only while a commit is in flight.
 */
export class AuditSyncer {
  private worker: Worker | null = null;
  private readonly waiting = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
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

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(this.specifier);
    worker.onmessage = (event: MessageEvent<CommitAnswer>) => {
      const answer = event.data;
      const waiter = this.waiting.get(answer.id);
      if (!waiter) return;
      this.waiting.delete(answer.id);
      if (this.waiting.size === 0) worker.unref();
      if (answer.ok) waiter.resolve();
      else waiter.reject(Object.assign(new Error(answer.message), answer.code ? { code: answer.code } : {}));
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
    worker.terminate();
  }
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
