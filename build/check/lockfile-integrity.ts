/**
 * Offline supply-chain check of bun.lock, run with every audit: each package resolves from the npm
 * registry by exact version with a sha512 integrity hash (no git, file or tarball URLs), and no
 * dependency is trusted to run install scripts. Exit 0 clean, 1 on a violation.
 *
 * Usage: bun build/check/lockfile-integrity.ts [path/to/bun.lock]
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

interface BunLock {
  trustedDependencies?: string[];
  packages?: Record<string, unknown[]>;
}

const EXACT_REGISTRY_SPEC = /^(@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*@\d+\.\d+\.\d+([-+][\w.+-]*)?$/i;

/** Problems found in a parsed bun.lock, one line each; empty when clean. */
export function lockfileProblems(lock: BunLock): string[] {
  const problems: string[] = [];
  for (const name of lock.trustedDependencies ?? []) {
    problems.push(`${name} is in trustedDependencies: its install scripts would run`);
  }
  for (const [key, entry] of Object.entries(lock.packages ?? {})) {
    const [spec, , , integrity] = entry;
    if (typeof spec !== "string" || !EXACT_REGISTRY_SPEC.test(spec)) {
      problems.push(`${key} does not resolve from the npm registry by exact version (${String(spec)})`);
    } else if (typeof integrity !== "string" || !integrity.startsWith("sha512-")) {
      problems.push(`${key} has no sha512 integrity hash`);
    }
  }
  return problems;
}

export function runLockfileIntegrity(lockPath: string): number {
  const lock = Bun.JSONC.parse(readFileSync(lockPath, "utf8")) as BunLock;
  const problems = lockfileProblems(lock);
  for (const problem of problems) console.error(`[LOCKFILE] ${problem}`);
  if (problems.length > 0) {
    console.error(
      "[LOCKFILE] Error: bun.lock holds packages that are not pinned registry tarballs. Fix: depend on exact npm versions and keep trustedDependencies empty.",
    );
    return 1;
  }
  console.log(
    `[LOCKFILE] ok: ${Object.keys(lock.packages ?? {}).length} packages pinned with sha512, no install scripts trusted`,
  );
  return 0;
}

if (import.meta.main) {
  process.exit(runLockfileIntegrity(resolve(process.argv[2] ?? resolve(import.meta.dir, "../../bun.lock"))));
}
