import { readSync } from "node:fs";

const CHUNK_BYTES = 64 * 1024;
/** A line longer than this is cut there (the control socket refuses a prompt over 100000 characters anyway). */
const MAX_LINE_BYTES = 1024 * 1024;

/**
 * Lines from a file descriptor, read synchronously: the CLI's control requests block, so a REPL that
 * asks a question in the middle of a turn (an approval) reads from the same buffer as its main loop
 * and no line typed or piped ahead is lost. Works on a terminal and on a pipe.
 */
export class SyncLineReader {
  private buffer = Buffer.alloc(0);
  private ended = false;
  private readonly decoder = new TextDecoder();

  constructor(
    private readonly fd = 0,
    private readonly read: (fd: number, into: Buffer) => number = (fd, into) => readSync(fd, into),
  ) {}

  /** The next line without its line break, or null at the end of the input. */
  next(): string | null {
    for (;;) {
      const newline = this.buffer.indexOf(0x0a);
      if (newline >= 0 || this.buffer.length >= MAX_LINE_BYTES) {
        const end = newline >= 0 ? newline : MAX_LINE_BYTES;
        const line = this.decoder.decode(this.buffer.subarray(0, end));
        this.buffer = this.buffer.subarray(newline >= 0 ? newline + 1 : end);
        return line.endsWith("\r") ? line.slice(0, -1) : line;
      }
      if (this.ended) {
        if (this.buffer.length === 0) return null;
        const rest = this.decoder.decode(this.buffer);
        this.buffer = Buffer.alloc(0);
        return rest;
      }
      this.fill();
    }
  }

  private fill(): void {
    const chunk = Buffer.alloc(CHUNK_BYTES);
    let n: number;
    try {
      n = this.read(this.fd, chunk);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // A non-blocking descriptor with nothing to read yet: wait a little and try again.
      if (code === "EAGAIN" || code === "EWOULDBLOCK") {
        Bun.sleepSync(20);
        return;
      }
      if (code === "EOF") n = 0;
      else throw error;
    }
    if (n === 0) this.ended = true;
    else this.buffer = Buffer.concat([this.buffer, chunk.subarray(0, n)]);
  }
}
