/**
 * The end-to-end smoke test of `carapace setup`: a real core (the running one, or a child `carapace
 * start` on this home), a session, one tool call through all six stages from the session socket, as
 * an agent's `ipc` would make it, then everything closed again.
 */
import { ALREADY_FORMATTED } from "../errors/user-error.ts";
import { callCore } from "../ipc/call.ts";
import { control, coreAnswers, untilCoreAnswers } from "./control-client.ts";
import { CliError, UserError } from "./errors.ts";
import { selfCommand } from "./self.ts";

export interface SmokeResult {
  ok: boolean;
  detail: string;
  fix?: string;
}

const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 10_000;
const PROBE = "carapace setup smoke test";

/** The error lines of a failed start (its log lines are JSON in a pipe), else its last lines. */
function startFailure(output: string): string {
  const lines = output.trim().split("\n").filter(Boolean);
  const errors = lines.filter((l) => ALREADY_FORMATTED.test(l));
  return (errors.length > 0 ? errors : lines.slice(-3)).join(" / ") || "no output";
}

/** Starts `carapace start` on `home` and waits until its control socket answers. */
async function startChildCore(home: string): Promise<{ proc: Bun.Subprocess; output: () => string }> {
  let output = "";
  const proc = Bun.spawn([...selfCommand(), "start"], {
    env: { ...process.env, CARAPACE_HOME: home, SKIP_IMAGE_BUILD: "1", NO_COLOR: "1" },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) output += new TextDecoder().decode(chunk);
  };
  void collect(proc.stdout);
  void collect(proc.stderr);
  if (!(await untilCoreAnswers(home, proc, START_TIMEOUT_MS))) {
    proc.kill("SIGKILL");
    await proc.exited;
    throw new CliError(
      "SETUP",
      `the core did not start: ${startFailure(output)}`,
      "run `carapace start` to see the whole error, then `carapace doctor`",
    );
  }
  return { proc, output: () => output };
}

async function stopChildCore(home: string, proc: Bun.Subprocess): Promise<void> {
  try {
    control(home, "stop", {}, 2000);
  } catch {
    proc.kill("SIGTERM");
  }
  // A cleared timer rather than a racing sleep: a pending sleep would keep setup alive for its length.
  const timer = setTimeout(() => proc.kill("SIGKILL"), STOP_TIMEOUT_MS);
  await proc.exited;
  clearTimeout(timer);
}

function roundTrip(home: string, helloEnabled: boolean): SmokeResult {
  const session = control(home, "session.open", { group: "setup" }) as { id: string; socket: string };
  try {
    const t0 = performance.now();
    const outcome = helloEnabled
      ? callCore(session.socket, "tool.invoke.hello.echo", { message: PROBE }, 5000)
      : callCore(session.socket, "tool.invoke.get_session_info", {}, 5000);
    const ms = (performance.now() - t0).toFixed(1);
    if (outcome.kind === "transport")
      return {
        ok: false,
        detail: `no reply from the session socket: ${outcome.message}`,
        fix: "run `carapace doctor`",
      };
    if (outcome.kind === "error")
      return {
        ok: false,
        detail: `the call was refused: ${JSON.stringify(outcome.error)}`,
        fix: "run `carapace doctor --live` with the core running",
      };
    const echoed = (outcome.result as { message?: unknown } | null)?.message;
    if (helloEnabled && echoed !== PROBE)
      return { ok: false, detail: `unexpected reply ${JSON.stringify(outcome.result)}`, fix: "report this output" };
    return { ok: true, detail: `session opened, a tool call answered through all six stages in ${ms} ms` };
  } finally {
    control(home, "session.close", { id: session.id });
  }
}

/** Runs `use` against the home's running core, or a child `carapace start` stopped again afterwards. */
export async function withCore<T>(home: string, use: () => T | Promise<T>): Promise<T> {
  if (coreAnswers(home)) return await use();
  const child = await startChildCore(home);
  try {
    return await use();
  } finally {
    await stopChildCore(home, child.proc);
  }
}

export async function smokeTest(home: string, helloEnabled: boolean): Promise<SmokeResult> {
  try {
    return await withCore(home, () => roundTrip(home, helloEnabled));
  } catch (e) {
    if (e instanceof UserError) return { ok: false, detail: e.what, fix: e.fix };
    return { ok: false, detail: (e as Error).message, fix: "run `carapace doctor` and `carapace start` to see more" };
  }
}
