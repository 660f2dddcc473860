/**
 * tests/fixtures/audit-legacy/home holds logs written by the audit writer as it was before records were
 * sealed field by field (a spread, a generic canonical pass and a streaming hash). Today's writer must
 * write the same bytes for the same entries (the canonical form and the line are unchanged), and the
 * compiled `carapace audit verify` must accept those logs and still catch an edit, a reorder and a cut.
 */
import { afterEach, beforeEach, expect, test } from "bun:test";
import { cpSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AuditLog } from "../../../src/core/response/audit-log.ts";
import type { AuditEntry } from "../../../src/core/response/audit-record.ts";
import { LEGACY_CLOCK_START, LEGACY_ENTRIES } from "../../fixtures/audit-legacy/entries.ts";
import { ensureBinaries } from "../../harness/binaries.ts";
import { readLinesOf, tempHome, writeLinesTo } from "./audit-helpers.ts";

const FIXTURE_DIR = join(import.meta.dir, "../../fixtures/audit-legacy/home/data/audit");

let t: ReturnType<typeof tempHome>;
beforeEach(() => {
  t = tempHome();
});
afterEach(() => t.cleanup());

test("today's writer writes the legacy logs byte for byte", async () => {
  let tick = 0;
  // Two records per millisecond, as the fixture was written: the same-millisecond time text is reused.
  const log = new AuditLog(t.home, { clock: () => new Date(LEGACY_CLOCK_START + Math.floor(tick++ / 2)) });
  for (const e of LEGACY_ENTRIES) await log.append(e as unknown as AuditEntry);
  await log.close();
  const names = readdirSync(FIXTURE_DIR).sort();
  expect(names).toEqual(["_core.head", "_core.jsonl", "work.head", "work.jsonl"]);
  for (const name of names) {
    expect({ name, text: readFileSync(join(t.dir, name), "utf8") }).toEqual({
      name,
      text: readFileSync(join(FIXTURE_DIR, name), "utf8"),
    });
  }
});

function verify(): { code: number | null; out: string } {
  const { carapace } = ensureBinaries();
  const proc = Bun.spawnSync([carapace, "audit", "verify"], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: t.home, CARAPACE_HOME: t.home },
    stdout: "pipe",
    stderr: "pipe",
    timeout: 120_000,
  });
  return { code: proc.exitCode, out: proc.stdout.toString() + proc.stderr.toString() };
}

test("carapace audit verify accepts the legacy logs and catches an edit, a reorder and a cut in them", () => {
  cpSync(FIXTURE_DIR, t.dir, { recursive: true });
  const clean = verify();
  expect(clean.out).toContain("work: ok (7 records)");
  expect(clean.out).toContain("_core: ok (1 records)");
  expect(clean.code).toBe(0);

  const file = join(t.dir, "work.jsonl");
  const lines = readLinesOf(file);
  writeLinesTo(
    file,
    lines.map((l, i) => (i === 2 ? l.replace('"code":"E_SCHEMA"', '"code":"E_SCHEMB"') : l)),
  );
  expect(verify().out).toContain("work.jsonl line 3 (seq 3): edited");

  writeLinesTo(file, [lines[0] ?? "", lines[2] ?? "", lines[1] ?? "", ...lines.slice(3)]);
  const reordered = verify();
  expect(reordered.code).toBe(1);
  expect(reordered.out).toContain("reordered");

  writeFileSync(file, `${lines.slice(0, 5).join("\n")}\n`);
  const cut = verify();
  expect(cut.code).toBe(1);
  expect(cut.out).toContain("truncated");
}, 300_000);
