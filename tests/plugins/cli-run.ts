/** Runs the compiled `carapace` with a given home (no running core needed). */
import { ensureBinaries } from "../harness/binaries.ts";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function carapace(home: string, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const bins = ensureBinaries();
  const proc = Bun.spawn([bins.carapace, ...args], {
    env: { PATH: "/usr/bin:/bin", HOME: home, CARAPACE_HOME: home, NO_COLOR: "1", TMPDIR: "/tmp", ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, stdout, stderr };
}
