/**
 * The core's log under the home: `logs/core.log`, rotated to core.log.1 … core.log.<files-1> when it passes
 * its size, so the whole log stays bounded. Each line starts with the host time (ISO-8601), which
 * `carapace logs --since` reads.
 */
import { appendFileSync, chmodSync, existsSync, mkdirSync, renameSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { stripTerminalEscapes } from "./response/terminal-text.ts";

export const LOG_MAX_BYTES = 5 * 1024 * 1024;
export const LOG_FILES = 5;

export function logDir(home: string): string {
  return join(home, "logs");
}

export function logPath(home: string, index = 0): string {
  return join(logDir(home), index === 0 ? "core.log" : `core.log.${index}`);
}

export class RotatingLog {
  private size: number;
  constructor(
    private readonly home: string,
    private readonly maxBytes = LOG_MAX_BYTES,
    private readonly files = LOG_FILES,
  ) {
    mkdirSync(logDir(home), { recursive: true, mode: 0o700 });
    chmodSync(logDir(home), 0o700);
    this.size = existsSync(logPath(home)) ? statSync(logPath(home)).size : 0;
  }

  /** Appends text (one or more lines), each line stamped with `now`. */
  write(text: string, now = new Date()): void {
    const stamp = now.toISOString();
    const lines = stripTerminalEscapes(text.replace(/\r/g, "")).split("\n");
    if (lines.at(-1) === "") lines.pop();
    if (lines.length === 0) return;
    const out = `${lines.map((l) => `${stamp} ${l}`).join("\n")}\n`;
    const bytes = Buffer.byteLength(out);
    if (this.size > 0 && this.size + bytes > this.maxBytes) this.rotate();
    appendFileSync(logPath(this.home), out, { mode: 0o600 });
    this.size += bytes;
  }

  private rotate(): void {
    rmSync(logPath(this.home, this.files - 1), { force: true });
    for (let i = this.files - 2; i >= 0; i--)
      if (existsSync(logPath(this.home, i))) renameSync(logPath(this.home, i), logPath(this.home, i + 1));
    this.size = 0;
  }
}

/** Everything the core writes to stderr also goes to the log file; a failing file never stops the core. */
export function teeStderrToLog(home: string): void {
  const log = new RotatingLog(home);
  const original = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    try {
      log.write(typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk));
    } catch {
      // The terminal or journal still gets the line.
    }
    return (original as (...a: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stderr.write;
}
