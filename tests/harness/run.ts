/** Runs a program to its end and collects what it printed: the one way tests run a binary or script. */

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CommandOptions {
  /** The whole environment of the child (nothing is inherited). */
  env: Record<string, string | undefined>;
  /** Written to stdin, which is then closed. Without it stdin is /dev/null unless `stdinOpen`. */
  stdin?: string;
  /** stdin stays an open pipe that never delivers a byte (a prompt would wait forever). */
  stdinOpen?: boolean;
  /** Working directory of the child; the test's own when omitted. */
  cwd?: string;
}

export async function runCommand(argv: string[], options: CommandOptions): Promise<CommandResult> {
  const proc = Bun.spawn(argv, {
    env: options.env,
    cwd: options.cwd,
    stdin:
      options.stdin !== undefined ? new TextEncoder().encode(options.stdin) : options.stdinOpen ? "pipe" : "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  if (options.stdinOpen) (proc.stdin as import("bun").FileSink).end();
  return { code, stdout, stderr };
}
