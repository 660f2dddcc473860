import { existsSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";

export const REPO_ROOT = resolve(import.meta.dir, "../..");

export interface AstGrepFinding {
  ruleId: string;
  file: string;
  range: { start: { line: number; column: number } };
}

/** The platform binary, skipping the npm wrapper that warns about its postinstall on every call. */
export function astGrepBinary(): string {
  const scope = join(REPO_ROOT, "node_modules/@ast-grep");
  const platformDirs = existsSync(scope) ? readdirSync(scope).filter((name) => name.startsWith("cli-")) : [];
  for (const dir of platformDirs) {
    const candidate = join(scope, dir, "ast-grep");
    if (existsSync(candidate)) return candidate;
  }
  return join(REPO_ROOT, "node_modules/.bin/ast-grep");
}

export function runAstGrep(args: string[]): { exitCode: number; stdout: string; stderr: string } {
  const result = Bun.spawnSync([astGrepBinary(), ...args], { cwd: REPO_ROOT, stdout: "pipe", stderr: "pipe" });
  return { exitCode: result.exitCode, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
}

/** Every finding of every project rule on one path (file or directory), relative to the repo root. */
export function scan(path: string): AstGrepFinding[] {
  const { exitCode, stdout, stderr } = runAstGrep(["scan", "--json=compact", path]);
  if (exitCode !== 0 && exitCode !== 1) throw new Error(`ast-grep scan ${path} failed (${exitCode}): ${stderr}`);
  return JSON.parse(stdout) as AstGrepFinding[];
}
