import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";

/** Debian's interpreter: a pyenv/venv `python3` on PATH would not see the apt-installed zmq module. */
export const PYTHON = "/usr/bin/python3";
export const INSTALL_HINT = "apt-get install -y --no-install-recommends python3-zmq";

/** Null when /usr/bin/python3 can import zmq; otherwise why the interop tests are skipped. */
export function pythonZmqMissing(): string | null {
  if (!existsSync(PYTHON)) return `${PYTHON} does not exist`;
  const probe = Bun.spawnSync([PYTHON, "-c", "import zmq"], { stdout: "ignore", stderr: "pipe" });
  if (probe.exitCode === 0) return null;
  const why = probe.stderr.toString().trim().split("\n").at(-1) ?? "import failed";
  return `${PYTHON} cannot import zmq (${why})`;
}

/** A pyzmq peer script from this folder, run as a child process with its stdout read line by line. */
export class PythonPeer {
  readonly lines: string[] = [];
  private readonly child: Subprocess<"pipe", "pipe", "pipe">;
  private stderrText: Promise<string>;

  constructor(script: string, args: string[]) {
    this.child = Bun.spawn([PYTHON, join(import.meta.dir, script), ...args], {
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
    });
    this.stderrText = new Response(this.child.stderr).text();
    void this.readLines();
  }

  private async readLines(): Promise<void> {
    const decoder = new TextDecoder();
    let partial = "";
    for await (const chunk of this.child.stdout) {
      partial += decoder.decode(chunk, { stream: true });
      const parts = partial.split("\n");
      partial = parts.pop() ?? "";
      this.lines.push(...parts);
    }
    if (partial) this.lines.push(partial);
  }

  writeLine(line: string): void {
    this.child.stdin.write(`${line}\n`);
    this.child.stdin.flush();
  }

  closeStdin(): void {
    this.child.stdin.end();
  }

  /** Waits for the script to exit; its stderr is attached to the error if it fails or hangs. */
  async exit(timeoutMs = 10_000): Promise<number> {
    const code = await Promise.race([this.child.exited, Bun.sleep(timeoutMs).then(() => "hung" as const)]);
    if (code === "hung") {
      this.child.kill();
      throw new Error(`python peer hung; stderr: ${await this.stderrText}`);
    }
    if (code !== 0) throw new Error(`python peer exited ${code}; stderr: ${await this.stderrText}`);
    return code;
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill();
  }
}
