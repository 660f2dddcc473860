/**
 * The attack's own core: `carapace start` in the temporary home, its output drained (a full pipe would
 * stall it) and kept as a short tail for the report, every wait bounded, and a core that does not stop
 * when asked is killed, so the self-test always ends and leaves no process behind.
 */

import { CORE_ALLOCATOR_ENV } from "../../platform/allocator-env.ts";

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Runs the carapace binary to its end, or kills it after `timeoutMs`. */
export async function runCarapace(
  bin: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<Ran> {
  const p = Bun.spawn([bin, ...args], { env, stdout: "pipe", stderr: "pipe" });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    p.kill("SIGKILL");
  }, timeoutMs);
  const [stdout, stderr, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  clearTimeout(timer);
  return { code, stdout, stderr, timedOut };
}

const TAIL_BYTES = 4096;

export interface TempCore {
  /** Waits (bounded) until the core answers `status`; false if it did not. */
  ready(timeoutMs: number): Promise<boolean>;
  /** The last few KiB the core wrote to stderr. */
  stderrTail(): string;
  /** Asks the core to stop; kills it if it has not exited within `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export function startTempCore(bin: string, env: Record<string, string>): TempCore {
  // With its allocator options set, the core need not re-execute itself to get them.
  const proc = Bun.spawn([bin, "start"], { env: { ...env, ...CORE_ALLOCATOR_ENV }, stdout: "ignore", stderr: "pipe" });
  let tail = "";
  void (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of proc.stderr as ReadableStream<Uint8Array>) {
      tail = (tail + decoder.decode(chunk)).slice(-TAIL_BYTES);
    }
  })();
  return {
    async ready(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (proc.exitCode !== null) return false;
        if ((await runCarapace(bin, ["status"], env, 10_000)).code === 0) return true;
        await Bun.sleep(100);
      }
      return false;
    },
    stderrTail: () => tail,
    async stop(graceMs = 15_000) {
      if (proc.exitCode === null) await runCarapace(bin, ["stop"], env, graceMs);
      const exited = await Promise.race([proc.exited.then(() => true), Bun.sleep(graceMs).then(() => false)]);
      if (!exited) {
        proc.kill("SIGKILL");
        await proc.exited;
      }
    },
  };
}
