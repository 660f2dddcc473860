import type { AuditLog } from "./audit-log.ts";
import type { AuditEntry } from "./audit-record.ts";

/**
 * Repeated rejections aggregated in the audit: per session, stage and code, the first `writtenPerWindow`
 * rejections of a window are written as they are, the rest of that window are counted and written as one
 * record with the count when the window ends. A flooding session costs a bounded number of records per
 * window instead of one per request; every rejection is still accounted for, with its stage.
 */
export class RejectionAggregator {
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly audit: Pick<AuditLog, "append"> & Partial<Pick<AuditLog, "reportUnwritten">>,
    private readonly windowMs = 1_000,
    private readonly writtenPerWindow = 100,
    private readonly now: () => number = Date.now,
  ) {}

  /** Resolves once the rejection is accounted for: written, or counted toward its window's summary. */
  record(entry: AuditEntry): Promise<unknown> {
    const key = `${entry.group ?? ""}\u0000${entry.session ?? ""}\u0000${entry.stage ?? ""}\u0000${entry.code ?? ""}`;
    const now = this.now();
    const open = this.windows.get(key);
    if (open && now - open.start < this.windowMs) {
      if (open.written < this.writtenPerWindow) {
        open.written++;
        return this.audit.append(entry);
      }
      open.repeated++;
      open.last = now;
      return Promise.resolve();
    }
    if (open) void this.close(key);
    const timer = setTimeout(() => void this.close(key), this.windowMs);
    timer.unref?.();
    this.windows.set(key, { start: now, last: now, written: 1, repeated: 0, entry, timer });
    return this.audit.append(entry);
  }

  /** Writes every pending count (at shutdown, before the audit log closes). */
  async flush(): Promise<void> {
    await Promise.all([...this.windows.keys()].map((key) => this.close(key)));
  }

  private close(key: string): Promise<unknown> {
    const w = this.windows.get(key);
    if (!w) return Promise.resolve();
    this.windows.delete(key);
    clearTimeout(w.timer);
    if (w.repeated === 0) return Promise.resolve();
    const { correlation: _one, topic: _any, ...shared } = w.entry;
    return this.audit
      .append({
        ...shared,
        correlation: null,
        topic: null,
        detail: {
          aggregated: true,
          repeated: w.repeated,
          first_at: new Date(w.start).toISOString(),
          last_at: new Date(w.last).toISOString(),
          reason: (w.entry.detail as { reason?: unknown } | undefined)?.reason ?? null,
        },
      })
      .catch((error: unknown) => this.audit.reportUnwritten?.(error));
  }
}

interface Window {
  start: number;
  last: number;
  written: number;
  repeated: number;
  entry: AuditEntry;
  timer: ReturnType<typeof setTimeout>;
}
