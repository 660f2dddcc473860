/**
 * The one seam through which adapters drive a runtime's CLI. Production uses Bun.spawn; tests pass a
 * fake that records argv and scripts answers, so every adapter runs under one contract test.
 */
export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  /** Kill the command after this long; the result then has code 124 (like timeout(1)). */
  timeoutMs?: number;
}

/** A long-running child: stdin writable then closed, output delivered in chunks. */
export interface ChildProcess {
  readonly pid: number | undefined;
  write(data: string | Uint8Array): void;
  closeStdin(): void;
  onStdout(listener: (chunk: string) => void): void;
  onStderr(listener: (chunk: string) => void): void;
  /** Resolves with the exit code (128 + signal number when killed by a signal). */
  readonly exited: Promise<number>;
  kill(signal?: NodeJS.Signals): void;
}

export interface Exec {
  run(argv: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  spawn(argv: readonly string[]): ChildProcess;
}

export const TIMED_OUT = 124;
const SIGNAL_NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

async function readAll(stream: ReadableStream<Uint8Array>): Promise<string> {
  return await new Response(stream).text();
}

async function pump(stream: ReadableStream<Uint8Array>, emit: (chunk: string) => void): Promise<void> {
  const decoder = new TextDecoder();
  for await (const bytes of stream) {
    const text = decoder.decode(bytes, { stream: true });
    if (text) emit(text);
  }
  const rest = decoder.decode();
  if (rest) emit(rest);
}

function exitCode(proc: { exitCode: number | null; signalCode: NodeJS.Signals | number | null }): number {
  if (proc.exitCode !== null) return proc.exitCode;
  const signal = proc.signalCode;
  return 128 + (typeof signal === "number" ? signal : (SIGNAL_NUMBERS[signal ?? ""] ?? 0));
}

/**
 * Runs commands with Bun.spawn. A missing binary resolves to code 127, as a shell would report it.
 * `env` replaces the inherited environment (e.g. DOCKER_HOST naming one particular engine's socket).
 */
export function createBunExec(env?: Record<string, string | undefined>): Exec {
  return {
    run: (argv, options) => runCommand(argv, options, env),
    spawn: (argv) => spawnCommand(argv, env),
  };
}

export const bunExec: Exec = createBunExec();

async function runCommand(
  argv: readonly string[],
  options: ExecOptions = {},
  env: Record<string, string | undefined> | undefined,
): Promise<ExecResult> {
  let proc: ReturnType<typeof Bun.spawn<"ignore", "pipe", "pipe">>;
  try {
    proc = Bun.spawn([...argv], { stdin: "ignore", stdout: "pipe", stderr: "pipe", env });
  } catch (err) {
    return { code: 127, stdout: "", stderr: String((err as Error).message) };
  }
  let timedOut = false;
  const timer =
    options.timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          proc.kill("SIGKILL");
        }, options.timeoutMs);
  const [stdout, stderr] = await Promise.all([readAll(proc.stdout), readAll(proc.stderr)]);
  await proc.exited;
  clearTimeout(timer);
  return { code: timedOut ? TIMED_OUT : exitCode(proc), stdout, stderr };
}

function spawnCommand(argv: readonly string[], env: Record<string, string | undefined> | undefined): ChildProcess {
  const proc = Bun.spawn([...argv], { stdin: "pipe", stdout: "pipe", stderr: "pipe", env });
  const stdoutListeners: ((chunk: string) => void)[] = [];
  const stderrListeners: ((chunk: string) => void)[] = [];
  const streams = Promise.all([
    pump(proc.stdout, (c) => {
      for (const l of stdoutListeners) l(c);
    }),
    pump(proc.stderr, (c) => {
      for (const l of stderrListeners) l(c);
    }),
  ]);
  let stdinOpen = true;
  const exited = (async () => {
    await proc.exited;
    await streams;
    return exitCode(proc);
  })();
  return {
    pid: proc.pid,
    write(data) {
      if (stdinOpen) proc.stdin.write(data);
    },
    closeStdin() {
      if (!stdinOpen) return;
      stdinOpen = false;
      proc.stdin.end();
    },
    onStdout: (l) => stdoutListeners.push(l),
    onStderr: (l) => stderrListeners.push(l),
    exited,
    kill: (signal = "SIGTERM") => proc.kill(signal),
  };
}
