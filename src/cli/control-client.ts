import { existsSync } from "node:fs";
import { type ControlReply, controlSocketPath } from "../core/control.ts";
import { coreRunning } from "../core/core-lock.ts";
import { BlockingDealer } from "../transport/blocking-dealer.ts";
import { CliError, EXIT, UserError } from "./errors.ts";

export const EXIT_NO_CORE = 3;
/** How often a long wait checks that the core is still alive. */
const LIVENESS_CHECK_MS = 1_000;

/**
 * One request to the running core over the control socket. Throws CliError (exit 3) when unreachable.
 * `onWait` is called about once a second while the answer is outstanding (to tell a person why).
 */
export function control(
  home: string,
  cmd: string,
  args: Record<string, unknown> = {},
  timeoutMs = 10_000,
  onWait?: (waitedMs: number) => void,
): unknown {
  const path = controlSocketPath(home);
  if (!existsSync(path)) {
    throw new CliError("CORE", "the core is not running", "start it with `carapace start`", EXIT_NO_CORE);
  }
  const dealer = new BlockingDealer(`ipc://${path}`);
  try {
    const id = crypto.randomUUID();
    dealer.send(JSON.stringify({ id, cmd, args }));
    const started = Date.now();
    const deadline = started + timeoutMs;
    for (;;) {
      const left = deadline - Date.now();
      const slice = onWait === undefined ? left : Math.min(left, 1000);
      const frames = left > 0 ? dealer.receive(slice) : null;
      if (!frames && onWait !== undefined && Date.now() < deadline) {
        onWait(Date.now() - started);
        continue;
      }
      if (!frames)
        throw new CliError(
          "CORE",
          "the core did not answer",
          "check `carapace status`; restart it if it hangs",
          EXIT_NO_CORE,
        );
      const reply = JSON.parse(new TextDecoder().decode(frames[0])) as ControlReply;
      if (reply.id !== id) continue;
      if (reply.ok) return reply.result;
      throw new CliError(reply.error.component, reply.error.message, reply.error.fix, 1);
    }
  } finally {
    dealer.close();
  }
}

/** Whether a core answers on the home's control socket now; a failure other than reaching it is thrown. */
export function coreAnswers(home: string): boolean {
  try {
    control(home, "status", {}, 2_000);
    return true;
  } catch (e) {
    if (e instanceof UserError && e.exitCode === EXIT.transport) return false;
    throw e;
  }
}

/**
 * Waits until the core just started as `proc` answers on its control socket, asked from this process
 * (a `carapace status` process per try would take CPU from the core's own start). False when the
 * process exits, or `timeoutMs` passes, first.
 */
export async function untilCoreAnswers(
  home: string,
  proc: { readonly exitCode: number | null },
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (coreAnswers(home)) return true;
    if (proc.exitCode !== null || Date.now() > deadline) return false;
    await Bun.sleep(20);
  }
}

/**
 * A request whose reply is preceded by a stream of `{id, update}` frames (e.g. `prompt`). The wait is an
 * idle timeout: every update extends it.
 */
export function controlStream(
  home: string,
  cmd: string,
  args: Record<string, unknown>,
  onUpdate: (u: unknown) => void,
  idleTimeoutMs: number,
): unknown {
  const path = controlSocketPath(home);
  if (!existsSync(path))
    throw new CliError("CORE", "the core is not running", "start it with `carapace start`", EXIT_NO_CORE);
  const dealer = new BlockingDealer(`ipc://${path}`);
  try {
    const id = crypto.randomUUID();
    dealer.send(JSON.stringify({ id, cmd, args }));
    let idleUntil = Date.now() + idleTimeoutMs;
    for (;;) {
      const frames = dealer.receive(Math.max(1, Math.min(idleUntil - Date.now(), LIVENESS_CHECK_MS)));
      if (!frames) {
        // A core that died holds no lock: say so now rather than after the whole idle timeout.
        if (!coreRunning(home))
          throw new CliError(
            "CORE",
            "the core stopped while waiting for it",
            "start it with `carapace start`",
            EXIT_NO_CORE,
          );
        if (Date.now() < idleUntil) continue;
        throw new CliError(
          "CORE",
          `no word from the core for ${Math.round(idleTimeoutMs / 1000)} s`,
          "check `carapace status`",
          EXIT_NO_CORE,
        );
      }
      idleUntil = Date.now() + idleTimeoutMs;
      const msg = JSON.parse(new TextDecoder().decode(frames[0])) as ControlReply | { id: string; update: unknown };
      if (msg.id !== id) continue;
      if ("update" in msg) {
        onUpdate(msg.update);
        continue;
      }
      if (msg.ok) return msg.result;
      throw new CliError(msg.error.component, msg.error.message, msg.error.fix, 1);
    }
  } finally {
    dealer.close();
  }
}
