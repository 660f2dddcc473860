import { existsSync, statSync } from "node:fs";
import { join } from "node:path";

export const ROOT = join(import.meta.dir, "../..");
export const DIST = join(ROOT, "dist");
export const CARAPACE_BIN = join(DIST, "carapace");
export const IPC_BIN = join(DIST, "ipc");

let built = false;
/** The compiled binaries; built once per test process if missing (CI builds them before the tests). */
export function ensureBinaries(): { carapace: string; ipc: string } {
  if (!built && !(existsSync(CARAPACE_BIN) && existsSync(IPC_BIN) && statSync(IPC_BIN).size > 0)) {
    const proc = Bun.spawnSync([process.execPath, "build/compile.ts"], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
    if (proc.exitCode !== 0) throw new Error(`build failed: ${proc.stderr.toString()}`);
  }
  built = true;
  return { carapace: CARAPACE_BIN, ipc: IPC_BIN };
}
