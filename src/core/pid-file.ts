import { existsSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** run/core.pid: which process the running core is (the core lock, not this file, says whether one runs). */
function pidFilePath(home: string): string {
  return join(home, "run/core.pid");
}

export function writePidFile(home: string): string {
  const path = pidFilePath(home);
  writeFileSync(path, `${process.pid}\n`, { mode: 0o600 });
  return path;
}

export function readPidFile(home: string): number | null {
  const path = pidFilePath(home);
  if (!existsSync(path)) return null;
  const pid = Number(readFileSync(path, "utf8").trim());
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

export function removePidFile(home: string): void {
  try {
    unlinkSync(pidFilePath(home));
  } catch {
    // already gone
  }
}

/** Removes the pid file only if it still names `pid`: a core never deletes what another one wrote. */
export function removePidFileOf(home: string, pid: number): void {
  if (readPidFile(home) === pid) removePidFile(home);
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
