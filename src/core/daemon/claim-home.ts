import { existsSync, unlinkSync } from "node:fs";
import { checkCredentialDir } from "../../config/credentials.ts";
import { homePath } from "../../config/home.ts";
import type { Config } from "../../config/keys.ts";
import { UserError } from "../../errors/user-error.ts";
import { unsafeWatchRoot } from "../../plugins/watch.ts";
import { BlockingDealer } from "../../transport/blocking-dealer.ts";
import { type ControlReply, controlSocketPath } from "../control.ts";
import { acquireCoreLock, type CoreLock } from "../core-lock.ts";
import { teeStderrToLog } from "../log-file.ts";
import { readPidFile, removePidFile } from "../pid-file.ts";
import { logLine } from "../response/log-stream.ts";

/** Whether something answers `status` on the control socket within `timeoutMs` (an older core takes no lock). */
function controlAnswers(home: string, timeoutMs: number): boolean {
  try {
    const dealer = new BlockingDealer(`ipc://${controlSocketPath(home)}`);
    try {
      const id = crypto.randomUUID();
      dealer.send(JSON.stringify({ id, cmd: "status", args: {} }));
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const left = deadline - Date.now();
        const frames = left > 0 ? dealer.receive(left) : null;
        if (!frames) return false;
        if ((JSON.parse(new TextDecoder().decode(frames[0])) as ControlReply).id === id) return true;
      }
    } finally {
      dealer.close();
    }
  } catch {
    // Something is there, but not what a client expects: never bind over it.
    return true;
  }
}

/**
 * Makes this process the one core of `home`: credentials safe, the core lock held, what a killed core
 * left (pid file, control socket) cleared. Throws a UserError and holds nothing when it cannot.
 */
export function claimHome(home: string): CoreLock {
  for (const f of checkCredentialDir(home)) {
    if (f.level === "fail") throw new UserError("CREDENTIALS", f.message, f.fix);
    if (f.level === "warn") logLine(`[CREDENTIALS] ${f.message} (${f.fix})`, { level: "warn" });
  }
  // The lock, not the pid file, says whether a core runs: a pid can be reused, a zombie still "exists".
  const lock = acquireCoreLock(home);
  if (lock === null) {
    const pid = readPidFile(home);
    throw new UserError(
      "CORE",
      `a core is already running in ${home}${pid === null ? "" : ` (pid ${pid})`}`,
      "use it, or stop it with `carapace stop`",
    );
  }
  teeStderrToLog(home);
  process.on("exit", () => lock.release());
  // Holding the lock, the pid file and sockets a killed core left are stale, unless an older core that
  // takes no lock still answers on the control socket: never bind over a live socket.
  if (existsSync(controlSocketPath(home))) {
    if (controlAnswers(home, 1_000)) {
      lock.release();
      throw new UserError(
        "CORE",
        `another core answers on ${controlSocketPath(home)}`,
        "stop it with `carapace stop`, then start again",
      );
    }
    unlinkSync(controlSocketPath(home));
  }
  removePidFile(home);
  return lock;
}

/** `--watch`: the user plugin folder and [plugins] dirs, each refused unless only its owner can write it. */
export function watchRoots(home: string, config: Config): string[] {
  const roots = [homePath(home, "plugins"), ...config.plugins.dirs];
  for (const root of roots) {
    const unsafe = unsafeWatchRoot(root);
    if (unsafe)
      throw new UserError(
        "PLUGINS",
        `--watch refuses to watch ${unsafe}`,
        `chown it to yourself and run chmod go-w on it`,
      );
  }
  return roots;
}
