/**
 * Progress for work that takes longer than about a second. On a terminal (stderr) one line is kept
 * up to date in place: a spinner, what is happening, the seconds so far and the latest detail. Off a
 * terminal nothing is drawn, so pipes and logs stay quiet and parseable; only `note` lines (whole
 * sentences worth keeping) are written there.
 */
import { stripAnsi } from "./output.ts";

const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

export interface Progress {
  /** The latest detail (a build step, a download count); shown on a terminal only. */
  detail(text: string): void;
  /** A line worth keeping in any case (printed above the spinner on a terminal). */
  note(text: string): void;
  /** Ends the progress line with a final word. */
  end(text: string): void;
}

interface Stream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): boolean;
}

export function onTerminal(stream: Stream = process.stderr): boolean {
  return stream.isTTY === true && process.env.TERM !== "dumb";
}

export function progress(label: string, stream: Stream = process.stderr): Progress {
  const started = Date.now();
  if (!onTerminal(stream)) {
    return {
      detail: () => {},
      note: (text) => void stream.write(`${text}\n`),
      end: () => {},
    };
  }
  let latest = "";
  let frame = 0;
  const draw = () => {
    const seconds = Math.round((Date.now() - started) / 1000);
    const line = `${FRAMES[frame++ % FRAMES.length]} ${label} (${seconds} s)${latest === "" ? "" : ` ${latest}`}`;
    const width = Math.max(20, (stream.columns ?? 80) - 1);
    stream.write(`\r\u001B[2K${line.slice(0, width)}`);
  };
  const timer = setInterval(draw, 120);
  draw();
  return {
    detail(text) {
      latest = stripAnsi(text).replace(/\s+/g, " ").trim();
    },
    note(text) {
      stream.write(`\r\u001B[2K${text}\n`);
      draw();
    },
    end(text) {
      clearInterval(timer);
      const seconds = Math.round((Date.now() - started) / 1000);
      stream.write(`\r\u001B[2K${text} (${seconds} s)\n`);
    },
  };
}
