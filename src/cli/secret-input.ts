/**
 * Reading a secret for `carapace auth`: piped stdin, or a prompt on a terminal that echoes nothing.
 * Secrets are never taken from argv (shell history, `ps`).
 */

const MAX_SECRET_BYTES = 16 * 1024;

export class SecretInputAborted extends Error {}

/** All of stdin when it is a pipe or file, trimmed of surrounding whitespace. */
export async function readPipedSecret(stdin: ReadableStream<Uint8Array> = Bun.stdin.stream()): Promise<string> {
  const reader = stdin.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > MAX_SECRET_BYTES) {
      await reader.cancel().catch(() => {});
      break;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8").trim();
}

/** Prompts on stderr and reads one line from the terminal without echoing it. Ctrl-C aborts. */
export function readHiddenLine(prompt: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(prompt);
  return new Promise((resolve, reject) => {
    let value = "";
    const done = (error?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off("data", onData);
      process.stderr.write("\n");
      if (error) reject(error);
      else resolve(value.trim());
    };
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString("utf8")) {
        if (ch === "\r" || ch === "\n") return done();
        if (ch === "\u0003" || ch === "\u0004") return done(new SecretInputAborted("aborted"));
        if (ch === "\u007f" || ch === "\b") value = value.slice(0, -1);
        else if (ch >= " ") value += ch;
        if (value.length > MAX_SECRET_BYTES) return done();
      }
    };
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on("data", onData);
  });
}

/** A piped secret, or a hidden prompt when stdin is a terminal. */
export function readSecret(prompt: string): Promise<string> {
  return process.stdin.isTTY === true ? readHiddenLine(prompt) : readPipedSecret();
}
