/**
 * `ipc` is a compiled Bun executable, so Bun itself reads some variables before any of ipc's code runs
 * (BUN_BE_BUN turns the binary into the `bun` CLI, BUN_OPTIONS adds runtime flags such as --preload).
 * Those two cannot be switched off at build time; the image's front script (container/ipc-front.sh) removes
 * them before Bun starts. This check is the second line: any variable that would make ipc run code other
 * than its own, or load a library the caller chose, is refused before ipc does anything.
 */
import { lstatSync, realpathSync } from "node:fs";
import { dirname } from "node:path";

/** Variables Bun, Node-compatible loaders or the dynamic loader act on to load or run foreign code. */
export const RUNTIME_VARIABLES = [
  "BUN_BE_BUN",
  "BUN_OPTIONS",
  "BUN_INSPECT",
  "BUN_INSPECT_CONNECT_TO",
  "BUN_INSPECT_PRELOAD",
  "BUN_INTERNAL_WEBVIEW_HOST",
  "NODE_OPTIONS",
  "NODE_PATH",
  "LD_PRELOAD",
  "LD_AUDIT",
  "LD_LIBRARY_PATH",
] as const;

export type EnvironmentVerdict = { ok: true } | { ok: false; variable: string; why: string };

/** Checks the environment ipc was started with; a variable set to the empty string is treated as unset. */
export function checkIpcEnvironment(env: Record<string, string | undefined>): EnvironmentVerdict {
  for (const name of RUNTIME_VARIABLES) {
    if (env[name]) return { ok: false, variable: name, why: "it would make ipc run code other than its own" };
  }
  const lib = env.CARAPACE_LIBZMQ;
  if (lib && !isRootOwnedFile(lib)) {
    return {
      ok: false,
      variable: "CARAPACE_LIBZMQ",
      why: `${lib} is not a root-owned file in a root-owned directory that only root can write`,
    };
  }
  return { ok: true };
}

/** A library path the unprivileged caller could not have planted: file and directory owned by root, not g/o-writable. */
function isRootOwnedFile(path: string): boolean {
  try {
    const real = realpathSync(path);
    const file = lstatSync(real);
    const dir = lstatSync(dirname(real));
    const safe = (st: { uid: number; mode: number }) => st.uid === 0 && (st.mode & 0o022) === 0;
    return file.isFile() && dir.isDirectory() && safe(file) && safe(dir);
  } catch {
    return false;
  }
}
