import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A fresh directory per test; `home` inside it does not exist yet. */
export function tempHome(): { root: string; home: string; cleanup(): void } {
  const root = mkdtempSync(join(tmpdir(), "carapace-config-"));
  return { root, home: join(root, "home"), cleanup: () => rmSync(root, { recursive: true, force: true }) };
}
