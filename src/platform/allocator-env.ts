import { dlopen, FFIType, ptr } from "bun:ffi";
import { readFileSync } from "node:fs";

/**
 * Allocator options the core runs with (docs/PERFORMANCE.md, "Light load, thread by thread"). Bun's
 * mimalloc reads its `MIMALLOC_*` options from the environment once, as the process starts; set later
 * they do nothing. So the service units carry them, and a core started without them replaces itself
 * with itself plus them (see `reexecWithAllocatorEnv`).
 */
export const CORE_ALLOCATOR_ENV: Readonly<Record<string, string>> = {
  // Hole purging (discarding free blocks inside pages still in use) sweeps at most every 100 ms by
  // default, and at light load nearly every call was followed by a sweep: 4.7-5.3 ms/s of the scavenger
  // thread at 10 calls/s. Every 500 ms: 1.3-1.6 ms/s, with RSS after a load as low as the default's
  // (every 1000 ms: 0.8 ms/s, but RSS after the load 1.14-1.22x idle; hole purging off: 1.4x).
  MIMALLOC_PURGE_HOLES_MIN_INTERVAL: "500",
};

/** `NAME=value` entries of CORE_ALLOCATOR_ENV whose name env does not have. A name set to anything is kept. */
export function missingAllocatorEnv(env: Record<string, string | undefined> = process.env): string[] {
  return Object.entries(CORE_ALLOCATOR_ENV)
    .filter(([name]) => env[name] === undefined)
    .map(([name, value]) => `${name}=${value}`);
}

/** Splits a NUL-separated /proc file (cmdline, environ) into its entries, bytes as they are. */
export function nulSeparated(raw: Buffer): Buffer[] {
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = raw.indexOf(0); i !== -1; i = raw.indexOf(0, start)) {
    parts.push(raw.subarray(start, i));
    start = i + 1;
  }
  if (start < raw.length) parts.push(raw.subarray(start));
  return parts;
}

/** A NULL-terminated array of pointers to NUL-terminated copies of entries; the copies must stay referenced. */
function cArray(entries: Buffer[]): { array: BigUint64Array; keep: Buffer[] } {
  const keep = entries.map((e) => Buffer.concat([e, Buffer.from([0])]));
  const array = new BigUint64Array(keep.length + 1);
  keep.forEach((b, i) => {
    array[i] = BigInt(ptr(b));
  });
  return { array, keep };
}

/**
 * Makes this process the same program again, with the same argv, file descriptors, pid and environment
 * plus the allocator options it lacks: execve(2) of this executable with /proc/self/cmdline and
 * /proc/self/environ, the bytes this process was started with. The executable goes by its path, not
 * /proc/self/exe: the kernel names the process after the file (`carapace` in ps, not `exe`). The pid
 * stays, so a supervisor, a pid file and signals see one process, and stdin/stdout/stderr are the same descriptors. Nothing is added
 * but the options' names and fixed values. Once they are all present it does nothing, so it happens at
 * most once per start. Linux only; anywhere else, or when execve fails, the process goes on as it is.
 * Call it before the process has done anything it would have to undo.
 */
export function reexecWithAllocatorEnv(env: Record<string, string | undefined> = process.env): void {
  const missing = missingAllocatorEnv(env);
  if (missing.length === 0 || process.platform !== "linux") return;
  let argv: Buffer[];
  let environ: Buffer[];
  try {
    argv = nulSeparated(readFileSync("/proc/self/cmdline"));
    environ = nulSeparated(readFileSync("/proc/self/environ"));
  } catch {
    return;
  }
  if (argv.length === 0) return;
  const libc = dlopen("libc.so.6", {
    execve: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
  });
  const path = Buffer.from(`${process.execPath}\0`);
  const args = cArray(argv);
  const envs = cArray([...environ, ...missing.map((m) => Buffer.from(m))]);
  // Returns only when it failed (then nothing changed and this process carries on).
  libc.symbols.execve(ptr(path), ptr(args.array), ptr(envs.array));
  libc.close();
}
