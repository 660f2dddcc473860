/** A scripted Exec: records every argv and answers from a responder, so adapters run without a runtime. */
import type { ChildProcess, Exec, ExecResult } from "../../src/container/exec.ts";

export type Responder = (argv: readonly string[]) => Partial<ExecResult> | undefined;

export interface FakeChild extends ChildProcess {
  stdinText: string;
  stdinClosed: boolean;
}

export class FakeExec implements Exec {
  readonly calls: string[][] = [];
  readonly spawned: { argv: string[]; child: FakeChild }[] = [];

  constructor(
    private readonly respond: Responder,
    private readonly spawnScript: (argv: readonly string[]) => {
      stdout?: string[];
      stderr?: string[];
      code?: number;
    } = () => ({}),
  ) {}

  async run(argv: readonly string[]): Promise<ExecResult> {
    this.calls.push([...argv]);
    const r = this.respond(argv) ?? { code: 127, stderr: `${argv[0]}: not found` };
    return { code: r.code ?? 0, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
  }

  spawn(argv: readonly string[]): FakeChild {
    const script = this.spawnScript(argv);
    const out: ((c: string) => void)[] = [];
    const err: ((c: string) => void)[] = [];
    const child: FakeChild = {
      pid: 4242,
      stdinText: "",
      stdinClosed: false,
      write(data) {
        child.stdinText += typeof data === "string" ? data : new TextDecoder().decode(data);
      },
      closeStdin() {
        child.stdinClosed = true;
      },
      onStdout: (l) => out.push(l),
      onStderr: (l) => err.push(l),
      exited: new Promise<number>((resolve) =>
        setTimeout(() => {
          for (const c of script.stdout ?? []) for (const l of out) l(c);
          for (const c of script.stderr ?? []) for (const l of err) l(c);
          resolve(script.code ?? 0);
        }, 1),
      ),
      kill() {},
    };
    this.spawned.push({ argv: [...argv], child });
    return child;
  }

  /** The argv of the last call whose words include all of `words`. */
  find(...words: string[]): string[] | undefined {
    return [...this.calls].reverse().find((c) => words.every((w) => c.includes(w)));
  }
}
