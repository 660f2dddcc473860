import { ensureBinaries } from "./binaries.ts";
import type { IpcResult } from "./core.ts";
import { runCommand } from "./run.ts";

export type { IpcResult } from "./core.ts";

function jsonObjectOf(text: string): Record<string, unknown> | null {
  try {
    const value = JSON.parse(text.trim());
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

/**
 * Runs the compiled `dist/ipc` with `argv`, `stdin` (closed when omitted) and an environment made only
 * of a minimal base plus `env` (so CARAPACE_SOCKET is unset unless given). `json` is stdout parsed for
 * exit 0, stderr parsed for exit 1, else null.
 */
export async function runIpcBinary(
  argv: string[],
  options: { stdin?: string; env?: Record<string, string> } = {},
): Promise<IpcResult & { ms: number }> {
  const { ipc } = ensureBinaries();
  const started = performance.now();
  const r = await runCommand([ipc, ...argv], {
    env: { PATH: "/usr/bin:/bin", HOME: "/tmp", NO_COLOR: "1", ...(options.env ?? {}) },
    stdin: options.stdin,
  });
  const json = r.code === 0 ? jsonObjectOf(r.stdout) : r.code === 1 ? jsonObjectOf(r.stderr) : null;
  return { ...r, json, ms: performance.now() - started };
}
