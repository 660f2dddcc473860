import { type Checkpoint, CheckpointWriter } from "./response/audit-checkpoint.ts";
import type { AuditLog } from "./response/audit-log.ts";
import { logLine } from "./response/log-stream.ts";
import { sanitizeText } from "./response/sanitize.ts";

/** How often the chain heads are signed (and at shutdown); a rewrite after the last one is not caught. */
const CHECKPOINT_INTERVAL_MS = 60_000;

/** The signed checkpoints of the running core: on a timer, at shutdown and when the operator asks. */
export class AuditCheckpoints {
  private writer: CheckpointWriter | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private signed = 0;

  constructor(
    private readonly home: string,
    private readonly audit: AuditLog,
  ) {}

  /** Opens the signing key and starts the timer; returns how many checkpoints are signed so far (0 when off). */
  async start(): Promise<number> {
    try {
      this.writer = new CheckpointWriter(this.home);
      this.signed = await this.writer.count();
      this.timer = setInterval(() => void this.checkpoint(), CHECKPOINT_INTERVAL_MS);
    } catch (error) {
      logLine(
        `[AUDIT] Error: signed audit checkpoints are off (${sanitizeText((error as Error).message)}). Fix: check ${this.home}/credentials (mode 0700, yours), then restart.`,
      );
    }
    return this.signed;
  }

  /**
   * Signs the durable heads of the logs (never on a call's path: a timer, shutdown, or the operator).
   * Null when nothing changed since the last checkpoint or checkpoints are off.
   */
  async checkpoint(): Promise<Checkpoint | null> {
    if (!this.writer) return null;
    try {
      const written = await this.writer.write(this.audit.durableHeads());
      if (written) this.signed = written.n;
      return written;
    } catch (error) {
      logLine(
        `[AUDIT] Error: could not write a signed checkpoint (${sanitizeText((error as Error).message)}). Fix: check free disk space in ${this.home}/data.`,
      );
      return null;
    }
  }

  count(): number {
    return this.signed;
  }

  /** Stops the timer; the caller signs the last checkpoint once the audit log is closed. */
  stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
