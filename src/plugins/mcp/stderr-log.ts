/**
 * A stdio MCP server's stderr as log lines. The server is not trusted: it may print its credential in
 * pieces (two writes arrive as two reads), or flood. So only whole lines are logged, each redacted
 * before it is cut to size, and at most a fixed number of lines per minute.
 */
import { StringDecoder } from "node:string_decoder";

export const MAX_LINE_CHARS = 1000;
export const MAX_LINES_PER_MINUTE = 200;

/** Replaces every credential value in `text`. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join("[REDACTED]");
  return out;
}

export function stderrLines(
  secrets: readonly string[],
  log: (line: string) => void,
  now: () => number = Date.now,
): (chunk: Buffer) => void {
  const decoder = new StringDecoder("utf8");
  let pending = "";
  let windowStart = now();
  let lines = 0;
  // Long enough that a credential starting inside the kept part is still whole when redacted.
  const keep = () => MAX_LINE_CHARS + Math.max(0, ...secrets.map((s) => s.length));
  const emit = (line: string) => {
    if (!line.trim()) return;
    if (now() - windowStart >= 60_000) {
      windowStart = now();
      lines = 0;
    }
    lines += 1;
    if (lines <= MAX_LINES_PER_MINUTE) log(redact(line, secrets).slice(0, MAX_LINE_CHARS));
    else if (lines === MAX_LINES_PER_MINUTE + 1)
      log(`(more than ${MAX_LINES_PER_MINUTE} lines this minute; the rest of this minute's lines are not logged)`);
  };
  let overlong = false;
  return (chunk) => {
    const parts = (pending + decoder.write(chunk)).split("\n");
    pending = parts.pop() ?? "";
    for (const part of parts) {
      if (!overlong) emit(part);
      overlong = false;
    }
    if (!overlong && pending.length > keep()) {
      // A line without its end yet: what fits is logged now, the rest until its newline is dropped.
      emit(pending.slice(0, keep()));
      overlong = true;
    }
    if (overlong) pending = "";
  };
}
