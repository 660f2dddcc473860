/**
 * Secret scanning of the tree (tracked and not-ignored files). Files listed in allowlist.txt are
 * skipped: each line is a path and why it may hold a fake key (test fixtures of the sanitizer, …).
 * Usage: bun build/check/secrets/scan.ts [root]   exit 0 clean, 1 a secret found.
 */
import { readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { scanText } from "./rules.ts";

const MAX_BYTES = 2 * 1024 * 1024;

export function allowlist(root: string): Set<string> {
  const text = readFileSync(join(root, "build/check/secrets/allowlist.txt"), "utf8");
  const paths = new Set<string>();
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const [path, ...why] = line.split(/\s+#\s*/);
    if (!path || why.join("").trim() === "")
      throw new Error(`[SECRETS] Error: allowlist line "${line}" gives no reason. Fix: write "path  # why".`);
    paths.add(path.trim());
  }
  return paths;
}

function treeFiles(root: string): string[] {
  const r = Bun.spawnSync(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: root });
  if (r.exitCode !== 0) throw new Error(`[SECRETS] Error: git ls-files failed. Fix: run inside the repository.`);
  return r.stdout.toString().split("\0").filter(Boolean);
}

export function scanTree(root: string) {
  const skip = allowlist(root);
  const hits = [];
  for (const file of treeFiles(root)) {
    if (skip.has(file)) continue;
    const path = join(root, file);
    let size: number;
    try {
      const st = statSync(path);
      if (!st.isFile()) continue;
      size = st.size;
    } catch {
      continue;
    }
    if (size > MAX_BYTES) continue;
    const bytes = readFileSync(path);
    if (bytes.includes(0)) continue;
    hits.push(...scanText(file, bytes.toString("utf8")));
  }
  return hits;
}

if (import.meta.main) {
  const root = resolve(process.argv[2] ?? join(import.meta.dir, "../../.."));
  const hits = scanTree(root);
  for (const h of hits) process.stdout.write(`${h.file}:${h.line}: ${h.what} (${h.rule})\n`);
  if (hits.length > 0) {
    process.stderr.write(
      `[SECRETS] Error: ${hits.length} secret-shaped value(s) in the tree. Fix: remove them (and rotate the key), or, for a fake key in a test fixture, list the file in build/check/secrets/allowlist.txt with why.\n`,
    );
    process.exit(1);
  }
  process.stdout.write("[SECRETS] no secrets found\n");
}
