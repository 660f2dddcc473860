import { ensureBinaries } from "./binaries.ts";
import type { IpcResult } from "./core.ts";

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
  const proc = Bun.spawn([ipc, ...argv], {
    env: { PATH: "/usr/bin:/bin", HOME: "/tmp", NO_COLOR: "1", ...(options.env ?? {}) },
    stdin: options.stdin !== undefined ? new Blob([options.stdin]) : "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  const json = code === 0 ? jsonObjectOf(stdout) : code === 1 ? jsonObjectOf(stderr) : null;
  return { code, stdout, stderr, json, ms: performance.now() - started };
}
