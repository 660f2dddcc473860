import { existsSync, statSync } from "node:fs";
import { rm } from "node:fs/promises";
import { basename } from "node:path";
import { auditDir, chainFiles, headFile, liveFile, rotatedFile, rotationNumbers } from "./audit-files.ts";
import { type RecordFilter, readHead, readRecent, readTail, streamLines, type TornTail } from "./audit-read.ts";
import {
  type AuditEntry,
  type AuditRecord,
  canonicalJson,
  GENESIS_HASH,
  isLogName,
  logNameOf,
  recordHash,
  sealRecord,
  type UnsealedRecord,
} from "./audit-record.ts";
import { type AppendHandle, type AuditStorage, fileAuditStorage } from "./audit-storage.ts";
import { knownSecretsVersion } from "./known-secrets.ts";
import { logLine } from "./log-stream.ts";
import { sanitize, sanitizeText } from "./sanitize.ts";

export interface AuditLogOptions {
  /**
   * How long the first record of a batch waits for company before the batch is written. The default,
   * 0, is group commit: an idle log writes at once, and whatever arrives while a write and its fsync
   * are in flight forms the next batch, so a lone caller pays one fsync and a busy one shares it.
   */
  flushIntervalMs?: number;
  /**
   * 0 (default): every batch is fsynced and the head replaced before its records resolve. N > 0: a batch
   * resolves once written (a write error still refuses it), and fsync + head update happen at most every
   * N ms and at close — the grouped commit, trading an N ms durability window on a
   * machine crash for throughput. A failed deferred sync refuses every later record (fail closed).
   */
  syncIntervalMs?: number;
  /** A batch is written as soon as it holds this many records. */
  maxBatch?: number;
  /** The live file is rotated before it would grow past this. */
  maxFileBytes?: number;
  /** After a write failure, how long records are refused before the next attempt to write (default 1 s). */
  retryAfterMs?: number;
  /**
   * Size budget of one log (all its files). After a rotation the oldest rotated files are removed until
   * the log fits, each removal recorded in the core log first (default 512 MiB).
   */
  maxLogBytes?: number;
  storage?: AuditStorage;
  clock?: () => Date;
  /** A monotonic clock in ms (what paces the grouped commits; tests move it). */
  now?: () => number;
  /**
   * Runs a function once at the next end of a burst of work (the core: when a call ends, its records
   * written and its reply sent). With `syncIntervalMs`, a commit due then starts there, not on a timer.
   */
  whenIdle?: (fn: () => void) => void;
}

export type AuditProblemKind = "deleted" | "edited" | "reordered" | "truncated" | "malformed";

export interface AuditProblem {
  /** Log name: a group or `_core`. */
  log: string;
  file: string;
  /** 1-based line in `file`; null when the problem is not tied to one line (e.g. a missing head). */
  line: number | null;
  seq: number | null;
  what: AuditProblemKind;
  detail: string;
}

/** Thrown (as a rejection) when a record could not be made durable: the caller must refuse the request. */
export class AuditWriteError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "AuditWriteError";
  }
}

const MAX_FIELD_CHARS = 512;
const MAX_DETAIL_CHARS = 8 * 1024;
const encoder = new TextEncoder();

/** A record's fields, sanitized and capped, with its detail's canonical JSON once computed (for the hash). */
interface Prepared {
  fields: UnsealedRecord;
  detailCanonical?: string;
}

interface Pending {
  prepared: Prepared;
  resolve: (record: AuditRecord) => void;
  reject: (error: Error) => void;
}

/**
 * Append-only, hash-chained JSON Lines audit log, one file per group under `<home>/data/audit/`
 * (docs/ARCHITECTURE.md, "Audit durability"). `append` resolves only once the record is fsynced and the
 * chain head (kept in `<log>.head`, outside the log) is replaced; it rejects when that fails.
 */
export class AuditLog {
  readonly dir: string;
  private readonly writers = new Map<string, LogWriter>();
  private readonly found: AuditProblem[] = [];
  private readonly settings: Required<Omit<AuditLogOptions, "storage" | "clock" | "now" | "whenIdle">>;
  private readonly storage: AuditStorage;
  private readonly clock: () => Date;
  private readonly now: () => number;
  private readonly whenIdle: ((fn: () => void) => void) | null;
  private closed = false;
  private unwritten = 0;

  constructor(home: string, options: AuditLogOptions = {}) {
    this.dir = auditDir(home);
    this.settings = {
      flushIntervalMs: options.flushIntervalMs ?? 0,
      syncIntervalMs: options.syncIntervalMs ?? 0,
      maxBatch: Math.max(1, options.maxBatch ?? 256),
      maxFileBytes: options.maxFileBytes ?? 10 * 1024 * 1024,
      retryAfterMs: Math.max(0, options.retryAfterMs ?? 1_000),
      maxLogBytes: options.maxLogBytes ?? 512 * 1024 * 1024,
    };
    this.storage = options.storage ?? fileAuditStorage;
    this.clock = options.clock ?? (() => new Date());
    this.now = options.now ?? (() => performance.now());
    this.whenIdle = options.whenIdle ?? null;
  }

  /**
   * Writes an event record nobody waits on (session, plugin, egress, late-result events). It never
   * rejects, and a failed write is never dropped silently: it is counted (`unwrittenEvents`, shown by
   * `carapace status` and `doctor --live`) and told on the core log (the 1st, 2nd, 4th, 8th … time).
   */
  appendEvent(entry: AuditEntry): Promise<void> {
    return this.append(entry).then(
      () => undefined,
      (error: unknown) => this.reportUnwritten(error),
    );
  }

  /** Counts a record whose write failed and nobody waited on, and tells the core log (bounded). */
  reportUnwritten(error: unknown): void {
    this.unwritten += 1;
    if ((this.unwritten & (this.unwritten - 1)) !== 0) return;
    process.stderr.write(
      `[AUDIT] Error: an audit record was not written (${this.unwritten} so far: ${errorText(error)}). Fix: see the audit log errors above; \`carapace status\` and \`carapace doctor --live\` show the count.\n`,
    );
  }

  /** How many event records could not be written since the core started. */
  get unwrittenEvents(): number {
    return this.unwritten;
  }

  /** Writes one record; resolves with it once durable. Rejects with AuditWriteError (fail closed). */
  append(entry: AuditEntry): Promise<AuditRecord> {
    if (this.closed)
      return Promise.reject(
        new AuditWriteError("[AUDIT] Error: the audit log is closed. Fix: none; the core is shutting down."),
      );
    const log = logNameOf(entry.group);
    if (!isLogName(log)) {
      return Promise.reject(
        new AuditWriteError(
          `[AUDIT] Error: invalid group name for the audit log. Fix: use a group name matching [a-z0-9][a-z0-9_-]{0,31}.`,
        ),
      );
    }
    return this.writer(log).enqueue(prepare(entry, this.clock()));
  }

  /** Recent records of one log only; the name is validated so no filter can reach another group's file. */
  query(group: string, filter: RecordFilter = {}): Promise<AuditRecord[]> {
    if (!isLogName(group))
      return Promise.reject(new Error(`[AUDIT] Error: invalid group name. Fix: pass a valid group name.`));
    return readRecent(this.dir, group, filter).then((records) => records.filter((r) => logNameOf(r.group) === group));
  }

  /** Inconsistencies found when a log was reopened; such a log refuses new records until repaired. */
  problems(): AuditProblem[] {
    return [...this.found];
  }

  /** Opens (and checks) a log ahead of its first record, e.g. for every configured group at start-up. */
  async openLog(group: string | null): Promise<AuditProblem[]> {
    const log = logNameOf(group);
    if (!isLogName(log)) throw new Error(`[AUDIT] Error: invalid group name. Fix: pass a valid group name.`);
    await this.writer(log).ready;
    return this.found.filter((p) => p.log === log);
  }

  /** Per log opened by this process: the head last made durable (what a signed checkpoint may name). */
  durableHeads(): Record<string, { seq: number; hash: string }> {
    const out: Record<string, { seq: number; hash: string }> = {};
    for (const [log, writer] of this.writers) {
      const head = writer.durableHead;
      if (head) out[log] = head;
    }
    return out;
  }

  /** Resolves once everything appended so far has been written (or has failed). */
  async flush(): Promise<void> {
    await Promise.all([...this.writers.values()].map((w) => w.drain()));
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.writers.values()].map((w) => w.close()));
  }

  private writer(log: string): LogWriter {
    let writer = this.writers.get(log);
    if (writer === undefined) {
      writer = new LogWriter(
        this.dir,
        log,
        this.settings,
        this.storage,
        (p) => this.found.push(p),
        (detail) => this.appendEvent({ kind: "event", outcome: "info", detail }),
        this.clock,
        this.now,
        this.whenIdle,
      );
      this.writers.set(log, writer);
    }
    return writer;
  }
}

/**
 * A field's text as it is written: scrubbed and capped. Both records of a call (and every record of a
 * session) carry the same session, topic and correlation, so the scrubbed text is kept for the next
 * record, keyed by the text itself: the scrub depends only on the text and the stored secrets (a change
 * to those empties the memory).
 */
const fieldTexts = new Map<string, string>();
const MAX_FIELD_TEXTS = 512;
let fieldTextsVersion = -1;
function fieldText(s: string): string {
  const version = knownSecretsVersion();
  if (version !== fieldTextsVersion) {
    fieldTexts.clear();
    fieldTextsVersion = version;
  }
  let text = fieldTexts.get(s);
  if (text === undefined) {
    text = capText(sanitizeText(s), MAX_FIELD_CHARS);
    if (fieldTexts.size >= MAX_FIELD_TEXTS) fieldTexts.clear();
    if (s.length <= MAX_FIELD_CHARS) fieldTexts.set(s, text);
  }
  return text;
}

/** Sanitized, size-capped copy of an entry with its timestamp. */
function prepare(entry: AuditEntry, now: Date): Prepared {
  const text = (s: string | null | undefined): string | null =>
    s === null || s === undefined ? null : fieldText(String(s));
  const prepared: UnsealedRecord = {
    ts: isoTime(now),
    group: entry.group ?? null,
    session: text(entry.session),
    kind: entry.kind,
    topic: text(entry.topic),
    correlation: text(entry.correlation),
    outcome: entry.outcome,
  };
  if (entry.stage !== undefined) prepared.stage = entry.stage;
  if (entry.code !== undefined) prepared.code = text(entry.code) ?? undefined;
  if (entry.detail !== undefined) {
    const detail = sanitize(entry.detail).value;
    const json = canonicalJson(detail);
    if (json.length <= MAX_DETAIL_CHARS) {
      prepared.detail = detail;
      return { fields: prepared, detailCanonical: json };
    }
    prepared.detail = { truncated: true, preview: capText(json, 1024) };
  }
  return { fields: prepared };
}

// Records come in bursts within one millisecond: its text is kept for the next record of the same one.
let lastTimeMs = Number.NaN;
let lastTimeText = "";
function isoTime(now: Date): string {
  const ms = now.getTime();
  if (ms !== lastTimeMs) {
    lastTimeText = now.toISOString();
    lastTimeMs = ms;
  }
  return lastTimeText;
}

function capText(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max)}…[truncated]`;
}

interface ChainState {
  seq: number;
  hash: string;
  /** Bytes of the live file known to hold whole records (a failed write is cut back to this). */
  size: number;
  rotation: number;
}

/** A write or sync failure the writer recovers from by itself once the disk takes writes again. */
interface Fault {
  error: AuditWriteError;
  since: Date;
  lastAttempt: number;
  refused: number;
}

/** A message for the core's own log (`_core`), e.g. a crash artefact repaired or a recovery. */
export type Notice = (detail: Record<string, unknown>) => Promise<unknown>;

/** One log's writer: batches appends, keeps the chain state, rotates, maintains the head file. */
class LogWriter {
  readonly ready: Promise<void>;
  private state: ChainState = { seq: 0, hash: GENESIS_HASH, size: 0, rotation: 0 };
  private handle: AppendHandle | null = null;
  private queue: Pending[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  private flushing: Promise<void> | null = null;
  /** Damage found on open (tampering or an unexplained inconsistency): sticky until an operator acts. */
  private damage: AuditWriteError | null = null;
  private fault: Fault | null = null;
  private sizeKnown = false;
  /** The last head written (null until one is, and for a damaged log). */
  private lastHead: { seq: number; hash: string } | null = null;
  /** Quiet commits posted, oldest first, until seen completed. */
  private posted: { seq: number; hash: string; completed: () => boolean }[] = [];
  /** When the last commit was started (the `now` clock): commits are at least the sync interval apart. */
  private lastCommitAt = Number.NEGATIVE_INFINITY;
  /** A commitOnIdle is registered and has not run yet. */
  private idleWaiting = false;
  /** The log was read and checked on open (resume() ran to its end). */
  private resumed = false;
  private closing = false;
  private syncTimer: ReturnType<typeof setTimeout> | null = null;
  private dirty = false;
  /** The running commit (awaited or a rotated file's last one): the next one starts after it. */
  private syncing: Promise<void> | null = null;
  /** The last rotated file's last records are being made durable (off the calls' path). */
  private retiring: Promise<void> | null = null;
  /** A rotated file whose last commit failed: recover() makes it durable before the head moves on. */
  private unsyncedRotated: string | null = null;

  constructor(
    private readonly dir: string,
    private readonly log: string,
    private readonly settings: Required<Omit<AuditLogOptions, "storage" | "clock" | "now" | "whenIdle">>,
    private readonly storage: AuditStorage,
    private readonly report: (problem: AuditProblem) => void,
    private readonly notice: Notice,
    private readonly clock: () => Date,
    private readonly now: () => number,
    private readonly whenIdle: ((fn: () => void) => void) | null,
  ) {
    this.ready = this.resume().catch((error: unknown) => {
      this.failed(error, "could not open");
    });
  }

  enqueue(prepared: Prepared): Promise<AuditRecord> {
    if (this.damage) return Promise.reject(this.damage);
    if (this.closing)
      return Promise.reject(
        new AuditWriteError("[AUDIT] Error: the audit log is closed. Fix: none; the core is shutting down."),
      );
    if (this.fault && !this.retryDue()) {
      this.fault.refused++;
      return Promise.reject(this.fault.error);
    }
    return new Promise<AuditRecord>((resolve, reject) => {
      this.queue.push({ prepared, resolve, reject });
      if (this.queue.length >= this.settings.maxBatch || this.settings.flushIntervalMs <= 0) this.kick();
      else this.timer ??= setTimeout(() => this.kick(), this.settings.flushIntervalMs);
    });
  }

  async drain(): Promise<void> {
    this.kick();
    while (this.flushing) await this.flushing;
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.drain();
    await this.syncNow();
    await this.handle?.close().catch(() => undefined);
    this.handle = null;
  }

  private retryDue(): boolean {
    return this.fault !== null && Date.now() - this.fault.lastAttempt >= this.settings.retryAfterMs;
  }

  private kick(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.flushing || this.queue.length === 0) return;
    this.flushing = this.flushLoop().finally(() => {
      this.flushing = null;
      // Records queued while the last batch was written but after the loop checked the queue.
      if (this.queue.length > 0) this.kick();
    });
  }

  private async flushLoop(): Promise<void> {
    await this.ready;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.settings.maxBatch);
      if (this.damage) {
        for (const p of batch) p.reject(this.damage);
        continue;
      }
      if (this.fault) {
        if (!this.retryDue() || !(await this.recover())) {
          if (this.fault) this.fault.refused += batch.length;
          for (const p of batch) p.reject(this.fault?.error ?? this.closedError());
          continue;
        }
      }
      await this.writeBatch(batch);
    }
  }

  private closedError(): AuditWriteError {
    return new AuditWriteError("[AUDIT] Error: the audit log is closed. Fix: none; the core is shutting down.");
  }

  private async writeBatch(batch: Pending[]): Promise<void> {
    const records: AuditRecord[] = [];
    let { seq, hash } = this.state;
    let text = "";
    for (const { prepared } of batch) {
      seq += 1;
      const sealed = sealRecord(prepared.fields, seq, hash, prepared.detailCanonical);
      hash = sealed.record.hash;
      records.push(sealed.record);
      text += `${sealed.line}\n`;
    }
    const bytes = encoder.encode(text);
    try {
      let handle = await this.openHandle();
      if (this.state.size > 0 && this.state.size + bytes.length > this.settings.maxFileBytes) {
        await this.rotate();
        handle = await this.openHandle();
      }
      const deferred = this.settings.syncIntervalMs > 0;
      try {
        await (deferred ? handle.write(bytes) : handle.append(bytes));
      } catch (error) {
        await this.undoPartialAppend(handle);
        throw error;
      }
      this.state = { ...this.state, seq, hash, size: this.state.size + bytes.length };
      // Without deferred commits every append was durable when it returned, the rotated file's included,
      // so the head may name this batch at once; deferred commits keep that order in runCommit.
      if (deferred) this.scheduleSync();
      else await this.writeHead({ seq, hash });
    } catch (error) {
      const failure = this.failed(error, "could not write to");
      for (const p of batch) p.reject(failure);
      return;
    }
    for (const [i, p] of batch.entries()) p.resolve(records[i] as AuditRecord);
  }

  /** Enters (or stays in) the failed state; the first failure is told to the operator. */
  private failed(error: unknown, what: string): AuditWriteError {
    if (this.fault) {
      this.fault.lastAttempt = Date.now();
      return this.fault.error;
    }
    const failure = new AuditWriteError(
      `[AUDIT] Error: ${what} the audit log ${this.log}.jsonl (${errorText(error)}); calls of this group are refused meanwhile. Fix: free disk space or fix the permissions of ${this.dir}; the core retries on its own and logs when writing works again.`,
      { cause: error },
    );
    this.fault = { error: failure, since: this.clock(), lastAttempt: Date.now(), refused: 0 };
    logLine(failure.message);
    return failure;
  }

  /**
   * After a failure: reopen the live file, cut any partial write back to the last whole record, make
   * what was written durable and the head current. True when the log takes records again.
   */
  private async recover(): Promise<boolean> {
    const fault = this.fault;
    if (!fault) return true;
    fault.lastAttempt = Date.now();
    // A commit still in flight uses the live file's descriptor: it must end before the file is reopened.
    while (this.syncing) await this.syncing;
    if (this.committing) await this.handle?.settle?.();
    try {
      if (!this.resumed) {
        await this.resume();
        if (this.damage) return false;
      }
      if (this.unsyncedRotated !== null) {
        const rotated = await this.storage.openAppend(this.unsyncedRotated);
        try {
          await rotated.sync();
        } finally {
          await rotated.close().catch(() => undefined);
        }
        this.unsyncedRotated = null;
      }
      await this.handle?.close().catch(() => undefined);
      this.handle = null;
      const handle = await this.storage.openAppend(liveFile(this.dir, this.log));
      this.handle = handle;
      if (!this.sizeKnown) {
        // The live file was never opened: nothing of ours is in it yet.
        this.state.size = handle.initialSize;
        this.sizeKnown = true;
      }
      if (handle.initialSize > this.state.size) await handle.truncate(this.state.size);
      if (handle.initialSize < this.state.size) {
        throw new Error(`the live file shrank from ${this.state.size} to ${handle.initialSize} bytes`);
      }
      await handle.sync();
      await this.writeHead({ seq: this.state.seq, hash: this.state.hash });
      this.dirty = false;
    } catch {
      return false;
    }
    this.fault = null;
    const seconds = Math.max(0, Math.round((this.clock().getTime() - fault.since.getTime()) / 1000));
    logLine(
      `[AUDIT] The audit log ${this.log}.jsonl is writable again after ${seconds} s; ${fault.refused} records were refused meanwhile (their calls were refused too).`,
    );
    void this.notice({
      event: "audit recovered",
      log: this.log,
      failed_at: fault.since.toISOString(),
      failure: errorText(fault.error.cause),
      refused_records: fault.refused,
    });
    return true;
  }

  /** A failed append may have left part of a line: cut back to the last good size (or at recovery). */
  private async undoPartialAppend(handle: AppendHandle): Promise<void> {
    try {
      await handle.truncate(this.state.size);
    } catch {
      // recover() cuts it back before the next write.
    }
  }

  private async openHandle(): Promise<AppendHandle> {
    if (this.handle === null) {
      this.handle = await this.storage.openAppend(liveFile(this.dir, this.log));
      this.state.size = this.handle.initialSize;
      this.sizeKnown = true;
    }
    return this.handle;
  }

  /** The head names only records already durable: the state captured before their fsync. */
  private async writeHead(at: { seq: number; hash: string }): Promise<void> {
    this.lastCommitAt = this.now();
    await this.storage.replaceAtomically(headFile(this.dir, this.log), this.headText(at));
    this.durableHead = { seq: at.seq, hash: at.hash };
  }

  /** The last head made durable: the newest quiet commit seen completed, or the last awaited one. */
  get durableHead(): { seq: number; hash: string } | null {
    this.takeCompleted();
    return this.lastHead;
  }

  private takeCompleted(): void {
    while (this.posted.length > 0 && this.posted[0]?.completed()) {
      const done = this.posted.shift() as { seq: number; hash: string };
      this.lastHead = { seq: done.seq, hash: done.hash };
    }
  }

  set durableHead(head: { seq: number; hash: string } | null) {
    this.posted = [];
    this.lastHead = head;
  }

  /** A quiet commit is still running. */
  private get committing(): boolean {
    this.takeCompleted();
    return this.posted.length > 0;
  }

  private headText(at: { seq: number; hash: string }): string {
    return `${JSON.stringify({ seq: at.seq, hash: at.hash, file: basename(liveFile(this.dir, this.log)) })}\n`;
  }

  /** Makes everything written durable, then names its last record in the head (in that order). */
  private async commit(handle: AppendHandle, at: { seq: number; hash: string }): Promise<void> {
    this.lastCommitAt = this.now();
    if (!handle.commit) {
      await handle.sync();
      await this.writeHead(at);
      return;
    }
    await handle.commit(headFile(this.dir, this.log), this.headText(at));
    this.durableHead = { seq: at.seq, hash: at.hash };
  }

  /**
   * A commit within the sync interval of the first record written after the last one. It starts at the
   * end of the work (`whenIdle`) if the last commit is an interval old by then (light load: a call's
   * records share one commit and nothing wakes up for it), else on a timer; commits stay at least an
   * interval apart.
   */
  private scheduleSync(): void {
    this.dirty = true;
    if (!this.syncTimer) {
      const interval = this.settings.syncIntervalMs;
      const wait = this.lastCommitAt + interval - this.now();
      this.syncTimer = setTimeout(
        () => {
          this.syncTimer = null;
          // The rotated file's commit runs first; when it ends it arms the next one.
          if (this.retiring) return;
          if (!this.commitQuietly()) void this.syncNow();
        },
        wait > 0 && wait < interval ? wait : interval,
      );
    }
    if (this.whenIdle && !this.idleWaiting) {
      this.idleWaiting = true;
      this.whenIdle(() => this.commitOnIdle());
    }
  }

  private commitOnIdle(): void {
    this.idleWaiting = false;
    if (!this.dirty || !this.syncTimer || this.now() < this.lastCommitAt + this.settings.syncIntervalMs) return;
    const timer = this.syncTimer;
    if (!this.commitQuietly()) return;
    clearTimeout(timer);
    this.syncTimer = null;
  }

  /**
   * Posts a commit of everything written so far that nothing waits for (a failure enters the failed
   * state). False when the storage has no such commit or an awaited one is running.
   */
  private commitQuietly(): boolean {
    const handle = this.handle;
    if (!handle?.commitQuietly || this.syncing || this.fault) return false;
    this.dirty = false;
    this.lastCommitAt = this.now();
    const at = { seq: this.state.seq, hash: this.state.hash };
    const completed = handle.commitQuietly(headFile(this.dir, this.log), this.headText(at), (error) => {
      this.dirty = true;
      this.failed(error, "could not make durable");
    });
    this.takeCompleted();
    this.posted.push({ ...at, completed });
    return true;
  }

  /** fsync + head for everything written so far; a failure enters the failed state. Serialized. */
  async syncNow(): Promise<void> {
    if (this.syncTimer) {
      clearTimeout(this.syncTimer);
      this.syncTimer = null;
    }
    while (this.syncing) await this.syncing;
    if (!this.dirty || !this.handle || this.fault) {
      // The descriptor a quiet commit uses stays open until it has ended.
      if (this.committing) await this.handle?.settle?.();
      return;
    }
    this.dirty = false;
    const handle = this.handle;
    const durable = { seq: this.state.seq, hash: this.state.hash };
    await this.runCommit(async () => {
      try {
        await this.commit(handle, durable);
      } catch (error) {
        this.dirty = true;
        this.failed(error, "could not make durable");
      }
    });
  }

  /** Runs `work` (which never rejects) as the current commit; the next waits for it. */
  private runCommit(work: () => Promise<void>): Promise<void> {
    const running: Promise<void> = work().finally(() => {
      if (this.syncing === running) this.syncing = null;
    });
    this.syncing = running;
    return running;
  }

  /**
   * The live file becomes `<log>.<n>.jsonl` and the chain continues in a fresh live file at once: the
   * rename is atomic and the open descriptor keeps writing to the renamed file, so the batch that asked
   * for the rotation goes into the new file without waiting. The rotated file's last commit (fdatasync,
   * then the head naming its last record) and its close run off the calls' path as the current commit;
   * no head names a record of the new file before it ends (commits run one after the other). A crash
   * before it ended can leave the rotated file short of records the new file continues from:
   * `mendSeam` handles that on the next open. At most one rotated file is being made durable at a time.
   */
  private async rotate(): Promise<void> {
    while (this.retiring) await this.retiring;
    if (this.fault) throw this.fault.error;
    const old = this.handle;
    const next = this.state.rotation + 1;
    const rotated = rotatedFile(this.dir, this.log, next);
    await this.storage.rename(liveFile(this.dir, this.log), rotated);
    this.handle = null;
    this.state.rotation = next;
    this.state.size = 0;
    this.sizeKnown = false;
    if (old) this.retire(old, rotated);
    // Off the batch's path: the core log's record of it is written (and awaited) before files go.
    setTimeout(() => void this.applyRetention(), 0);
  }

  /** The rotated file's last commit, after any commit already running; then its descriptor is closed. */
  private retire(old: AppendHandle, path: string): void {
    const before = this.syncing;
    const dirty = this.dirty;
    this.dirty = false;
    if (this.syncTimer) {
      clearTimeout(this.syncTimer);
      this.syncTimer = null;
    }
    const at = { seq: this.state.seq, hash: this.state.hash };
    const retiring = this.runCommit(async () => {
      if (before) await before;
      try {
        if (dirty && !this.fault) await this.commit(old, at);
        // A quiet commit still running uses the descriptor.
        else if (this.committing) await old.settle?.();
      } catch (error) {
        this.failed(error, "could not make durable");
      } finally {
        await old.close().catch(() => undefined);
      }
      // Failed meanwhile (this commit, a quiet one on this file, or before): recovery syncs this file too.
      if (this.fault) this.unsyncedRotated = path;
    }).finally(() => {
      if (this.retiring === retiring) this.retiring = null;
      // Records written to the new file meanwhile get their commit now.
      if (this.dirty && !this.fault && !this.closing) this.scheduleSync();
    });
    this.retiring = retiring;
  }

  private retaining = false;

  /** Removes the oldest rotated files while the log is over its budget; the newest rotated file stays. */
  private async applyRetention(): Promise<void> {
    if (this.retaining) return;
    this.retaining = true;
    try {
      const rotations = rotationNumbers(this.dir, this.log);
      const sizes = new Map(rotations.map((n) => [n, fileSize(rotatedFile(this.dir, this.log, n))]));
      let total = [...sizes.values()].reduce((a, b) => a + b, 0) + this.state.size;
      const remove: number[] = [];
      for (const n of rotations.slice(0, -1)) {
        if (total <= this.settings.maxLogBytes) break;
        remove.push(n);
        total -= sizes.get(n) ?? 0;
      }
      if (remove.length === 0) return;
      const keep = rotations[remove.length];
      if (keep === undefined) return;
      const first = (await readFirstLine(rotatedFile(this.dir, this.log, keep)))?.record;
      if (!first) return;
      await this.notice({
        event: "audit retention",
        log: this.log,
        removed_files: remove.map((n) => basename(rotatedFile(this.dir, this.log, n))),
        first_kept_seq: first.seq,
        first_kept_prev: first.prev,
        budget_bytes: this.settings.maxLogBytes,
      });
      for (const n of remove) await rm(rotatedFile(this.dir, this.log, n), { force: true });
    } finally {
      this.retaining = false;
    }
  }

  /** Picks up seq and hash from the last record and checks them against the head kept outside the log. */
  private async resume(): Promise<void> {
    await this.checkOnOpen();
    this.resumed = true;
  }

  private async checkOnOpen(): Promise<void> {
    await this.storage.ensureDir(this.dir);
    // A crash between writing the new head and renaming it over the old one leaves this behind.
    await rm(`${headFile(this.dir, this.log)}.tmp`, { force: true });
    const rotations = rotationNumbers(this.dir, this.log);
    this.state.rotation = rotations[rotations.length - 1] ?? 0;
    const head = await readHead(this.dir, this.log);
    if (head.kind === "ok") await this.mendSeam(this.state.rotation, head.head.seq);
    const tail = await readTail(chainFiles(this.dir, this.log));
    const problem = (p: Omit<AuditProblem, "log">) => {
      const full = { log: this.log, ...p };
      this.report(full);
      this.damage = new AuditWriteError(
        `[AUDIT] Error: the audit log ${this.log} is damaged (${p.what} in ${p.file}: ${p.detail}); new records are refused. Fix: run \`carapace audit verify --group ${this.log}\`, keep the damaged files as evidence, and move ${this.log}.* out of ${this.dir} to start a new chain.`,
      );
    };
    const headName = basename(headFile(this.dir, this.log));
    if (head.kind === "malformed") {
      return problem({
        file: headName,
        line: null,
        seq: null,
        what: "malformed",
        detail: "the head file is unreadable",
      });
    }
    if (tail.kind === "malformed") {
      return problem({ file: tail.file, line: null, seq: null, what: "malformed", detail: tail.reason });
    }
    if (tail.kind === "empty") {
      if (head.kind === "ok" && head.head.seq > 0) {
        return problem({
          file: head.head.file,
          line: null,
          seq: head.head.seq,
          what: "truncated",
          detail: `the head names record ${head.head.seq} but the log is empty`,
        });
      }
      await this.cutTornTail(tail.torn);
      // A new log gets its head before its first record: from here on a missing head is never a crash artefact.
      if (head.kind === "missing") {
        try {
          await this.writeHead({ seq: 0, hash: GENESIS_HASH });
        } catch (error) {
          // recover() writes it before the first record.
          this.failed(error, "could not create the head of");
        }
      }
      return;
    }
    const last = tail.record;
    if (recordHash(last) !== last.hash) {
      return problem({
        file: tail.file,
        line: null,
        seq: last.seq,
        what: "edited",
        detail: `record ${last.seq} does not match its hash`,
      });
    }
    if (head.kind === "missing") {
      return problem({ file: headName, line: null, seq: null, what: "malformed", detail: "the head file is missing" });
    }
    if (head.head.seq > last.seq) {
      return problem({
        file: tail.file,
        line: null,
        seq: last.seq,
        what: "truncated",
        detail: `records ${last.seq + 1}..${head.head.seq} are missing from the end`,
      });
    }
    if (head.head.seq === last.seq && head.head.hash !== last.hash) {
      return problem({
        file: tail.file,
        line: null,
        seq: last.seq,
        what: "edited",
        detail: `record ${last.seq} differs from the head`,
      });
    }
    await this.cutTornTail(tail.torn);
    if (head.head.seq < last.seq) {
      // A crash between writing the records and replacing the head (including during a log's first batch).
      void this.notice({
        event: "audit log ahead of its head",
        log: this.log,
        head_seq: head.head.seq,
        last_seq: last.seq,
        cause: "the core stopped before the head was updated (a crash); the records after the head are kept",
      });
    }
    this.state.seq = last.seq;
    this.state.hash = last.hash;
    this.durableHead = { seq: head.head.seq, hash: head.head.hash };
  }

  /**
   * A crash while the last rotated file was still being made durable (see `rotate`) can leave it short of
   * its last records, or ending in a torn line, while the live file holds records that follow the lost
   * ones. The head names none of them: it names a record of the live file only once the rotated file is
   * durable, so this is a crash artefact exactly when the head names at most the rotated file's last whole
   * record. Then the torn line is cut and the live file, whose records no longer chain, is moved aside as
   * `<log>.jsonl.unchained-<n>` (evidence outside the chain); both are recorded in the core log. Anything
   * else at the seam is left to the checks after this and to `audit verify`.
   */
  private async mendSeam(rotation: number, headSeq: number): Promise<void> {
    const live = liveFile(this.dir, this.log);
    if (rotation === 0 || !existsSync(live)) return;
    const tail = await readTail([rotatedFile(this.dir, this.log, rotation)]);
    if (tail.kind !== "record" || headSeq > tail.record.seq) return;
    const last = tail.record;
    const first = await readFirstLine(live);
    const follows = first === null || (first.record?.seq === last.seq + 1 && first.record.prev === last.hash);
    const unchained = first !== null && (first.torn || (first.record !== null && first.record.seq > last.seq + 1));
    if (!follows && !unchained) return;
    await this.cutTornTail(tail.torn);
    if (follows) return;
    let aside = `${live}.unchained-${rotation}`;
    if (existsSync(aside)) aside = `${aside}-${Date.now()}`;
    await this.storage.rename(live, aside);
    void this.notice({
      event: "audit records lost in a crash during rotation",
      log: this.log,
      file: basename(rotatedFile(this.dir, this.log, rotation)),
      last_seq: last.seq,
      head_seq: headSeq,
      moved_aside: basename(aside),
      first_moved_seq: first.record?.seq ?? null,
      cause:
        "the core stopped before the rotated file's last records were durable; the head named none of them, and the live file's records, which followed them, no longer chain",
    });
  }

  /** A torn last line is a write a crash cut short: it holds no whole record. Cut it and say so. */
  private async cutTornTail(torn: TornTail | undefined): Promise<void> {
    if (!torn) return;
    const handle = await this.storage.openAppend(torn.path);
    try {
      await handle.truncate(torn.keep);
    } finally {
      await handle.close();
    }
    void this.notice({
      event: "torn last line removed",
      log: this.log,
      file: basename(torn.path),
      offset: torn.keep,
      bytes: torn.bytes,
      cause: "a write cut short by a crash (crash artefact, not tampering)",
    });
  }
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** The first line of a file (null when it is empty): mendSeam reads the live file's, retention the kept file's. */
async function readFirstLine(path: string): Promise<{ record: AuditRecord | null; torn: boolean } | null> {
  for await (const line of streamLines(path)) return { record: line.record, torn: line.torn };
  return null;
}

function errorText(error: unknown): string {
  if (error && typeof error === "object" && "code" in error && typeof error.code === "string") return error.code;
  return error instanceof Error ? error.message.slice(0, 200) : "unknown error";
}
