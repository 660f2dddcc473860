import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";

export const REPO_ROOT = resolve(import.meta.dir, "../../..");

/** A throwaway repository layout holding copies of the given repo paths and a node_modules link. */
export function scratchRepo(copies: readonly string[]): {
  root: string;
  write(path: string, text: string): void;
  remove(): void;
} {
  const root = mkdtempSync(join(tmpdir(), "carapace-gate-"));
  for (const path of copies) cpSync(join(REPO_ROOT, path), join(root, path), { recursive: true });
  symlinkSync(join(REPO_ROOT, "node_modules"), join(root, "node_modules"));
  return {
    root,
    write(path, text) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    },
    remove() {
      rmSync(root, { recursive: true, force: true });
    },
  };
}

export function runScript(root: string, script: string): { exitCode: number; output: string } {
  const result = Bun.spawnSync(["bash", join(root, script)], { cwd: root, stdout: "pipe", stderr: "pipe" });
  return { exitCode: result.exitCode, output: `${result.stdout.toString()}${result.stderr.toString()}` };
}
