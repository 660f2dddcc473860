import { dlopen, FFIType } from "bun:ffi";
import { closeSync, constants, mkdirSync, openSync } from "node:fs";
import { join } from "node:path";
import { homePath } from "../config/home.ts";

/**
 * One core per home: an exclusive flock(2) on `<home>/run/core.lock`, taken before anything is bound
 * and held by the open file for the core's lifetime. The kernel drops it when the process exits, however
 * it exits (kill -9 included; a zombie holds no files), so a stale pid file or socket never blocks a start,
 * and a pid that was reused by an unrelated process is never mistaken for a core.
 */

const LOCK_EX = 2;
const LOCK_NB = 4;
const LOCK_UN = 8;
/** Linux's O_CLOEXEC (node:fs does not export it). */
const O_CLOEXEC = 0o2000000;

let libc: ReturnType<typeof openLibc> | null = null;
function openLibc() {
  return dlopen("libc.so.6", { flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 } });
}

export function coreLockPath(home: string): string {
  return join(homePath(home, "run"), "core.lock");
}

function openLockFile(home: string): number {
  mkdirSync(homePath(home, "run"), { recursive: true, mode: 0o700 });
  // O_CLOEXEC: a container runtime the core starts must not inherit (and so keep) the lock.
  return openSync(coreLockPath(home), constants.O_RDWR | constants.O_CREAT | O_CLOEXEC, 0o600);
}

export interface CoreLock {
  release(): void;
}

/** Takes the home's lock, or returns null when a running core holds it. Never waits. */
export function acquireCoreLock(home: string): CoreLock | null {
  libc ??= openLibc();
  const fd = openLockFile(home);
  if (libc.symbols.flock(fd, LOCK_EX | LOCK_NB) !== 0) {
    closeSync(fd);
    return null;
  }
  let held = true;
  return {
    release() {
      if (!held) return;
      held = false;
      libc?.symbols.flock(fd, LOCK_UN);
      closeSync(fd);
    },
  };
}

/** True while some process (a running core) holds the home's lock. */
export function coreRunning(home: string): boolean {
  const probe = acquireCoreLock(home);
  if (probe === null) return true;
  probe.release();
  return false;
}
