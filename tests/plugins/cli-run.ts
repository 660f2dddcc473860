/** Runs the compiled `carapace` with a given home (no running core needed). */
import { ensureBinaries } from "../harness/binaries.ts";
import { runCommand } from "../harness/run.ts";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function carapace(home: string, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const bins = ensureBinaries();
  return runCommand([bins.carapace, ...args], {
    env: { PATH: "/usr/bin:/bin", HOME: home, CARAPACE_HOME: home, NO_COLOR: "1", TMPDIR: "/tmp", ...env },
  });
}
