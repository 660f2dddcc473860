/**
 * Runs a program on a pseudo-terminal (util-linux `script`), so it sees a TTY on stdin and stdout, and
 * answers its questions the way a person would: wait until a question is on screen, then type.
 */
import { stripAnsi } from "../../src/cli/output.ts";

export const hasScript = Bun.spawnSync(["sh", "-c", "command -v script"]).exitCode === 0;

export interface Pty {
  /** Everything printed so far, terminal escapes removed. */
  screen(): string;
  /** Waits until `text` appears after what earlier waits consumed; returns the screen up to it. */
  waitFor(text: string | RegExp, timeoutMs?: number): Promise<string>;
  /** Types into the terminal; "\r" is Enter. */
  type(keys: string): void;
  exited: Promise<number>;
}

const quote = (arg: string) => `'${arg.replaceAll("'", "'\\''")}'`;

export function onPty(argv: string[], env: Record<string, string>): Pty {
  // script's terminal has no size when its own stdin is a pipe; prompts would wrap after every character.
  const command = `stty cols 200 rows 50; exec ${argv.map(quote).join(" ")}`;
  const proc = Bun.spawn(["script", "-qfec", command, "/dev/null"], {
    env: { TERM: "xterm-256color", ...env },
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
  });
  let raw = "";
  let consumed = 0;
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) raw += decoder.decode(chunk, { stream: true });
  };
  void pump(proc.stdout as ReadableStream<Uint8Array>);
  void pump(proc.stderr as ReadableStream<Uint8Array>);
  const screen = () => stripAnsi(raw).replaceAll("\r", "");
  return {
    screen,
    async waitFor(text, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const rest = screen().slice(consumed);
        const at = typeof text === "string" ? rest.indexOf(text) : rest.search(text);
        if (at !== -1) {
          const upTo = screen().slice(0, consumed + at);
          consumed += at + 1;
          return upTo;
        }
        if (Date.now() > deadline || proc.exitCode !== null)
          throw new Error(`never saw ${String(text)} on the terminal; it shows:\n${screen().slice(-3000)}`);
        await Bun.sleep(50);
      }
    },
    type(keys) {
      (proc.stdin as import("bun").FileSink).write(keys);
      (proc.stdin as import("bun").FileSink).flush();
    },
    exited: proc.exited,
  };
}
