import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type AuditRecord, recordHash } from "../../src/core/response/audit-record.ts";
import { CARAPACE_BIN } from "../harness/binaries.ts";
import { startCore, tempHome } from "../harness/core.ts";
import { rawRequest, wire } from "../harness/raw.ts";
import { runCommand } from "../harness/run.ts";
import { ROOMY_LIMITS } from "./support.ts";

/**
 * Audit-chain tamper detection through the real binary: a log written by a running core, then tampered with on disk
 * (each case on its own copy of the home); `carapace audit verify` exits 1 and names the line.
 */

const GROUP = "chain";

async function verify(home: string, group?: string): Promise<{ code: number; out: string }> {
  const r = await runCommand([CARAPACE_BIN, "audit", "verify", ...(group ? ["--group", group] : [])], {
    env: { PATH: "/usr/bin:/bin", HOME: home, CARAPACE_HOME: home, NO_COLOR: "1" },
  });
  return { code: r.code, out: r.stdout + r.stderr };
}

describe("audit chain tampering is detected by `carapace audit verify`", () => {
  let original: string;
  let lineCount = 0;
  const copies: string[] = [];

  /** A fresh copy of the stopped core's home with the group's log lines rewritten by `edit`. */
  function tampered(edit: (lines: string[]) => string[]): string {
    const home = tempHome();
    copies.push(home);
    cpSync(original, home, { recursive: true });
    const file = join(home, "data/audit", `${GROUP}.jsonl`);
    const lines = readFileSync(file, "utf8").split("\n").filter(Boolean);
    writeFileSync(file, `${edit(lines).join("\n")}\n`);
    return home;
  }

  beforeAll(async () => {
    const core = await startCore({ config: ROOMY_LIMITS });
    const session = await core.openSession(GROUP);
    for (let i = 0; i < 4; i++) rawRequest(session.socket, wire("tool.invoke.hello.echo", { message: `call ${i}` }));
    rawRequest(session.socket, wire("tool.invoke.no.such_tool", {}));
    rawRequest(session.socket, "not json");
    rawRequest(session.socket, wire("tool.invoke.hello.echo", { message: "last" }));
    await core.stop();
    original = core.home;
    lineCount = core.audit(GROUP).length;
    expect(lineCount).toBeGreaterThanOrEqual(8);
  });
  afterAll(() => {
    for (const home of copies) rmSync(home, { recursive: true, force: true });
  });

  test("the untouched log verifies (exit 0) and the core's log too", async () => {
    const r = await verify(original, GROUP);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`${GROUP}: ok (${lineCount} records)`);
    expect((await verify(original)).code).toBe(0);
  });

  test("a deleted line: exit 1, the line where the gap is and the missing record are named", async () => {
    const home = tampered((lines) => lines.filter((_, i) => i !== 2));
    const r = await verify(home, GROUP);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`${GROUP}.jsonl line 3`);
    expect(r.out).toMatch(/record 3 is missing/);
    expect(r.out).toContain("[AUDIT] Error:");
  });

  test("an edited line: exit 1, that line is named as edited", async () => {
    const home = tampered((lines) =>
      lines.map((l, i) => (i === 4 ? l.replace('"outcome":"ok"', '"outcome":"rejected"') : l)),
    );
    expect(readFileSync(join(home, "data/audit", `${GROUP}.jsonl`), "utf8")).not.toBe(
      readFileSync(join(original, "data/audit", `${GROUP}.jsonl`), "utf8"),
    );
    const r = await verify(home, GROUP);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`${GROUP}.jsonl line 5`);
    expect(r.out).toContain("edited");
  });

  test("an edited line with its own hash recomputed: the next record no longer chains to it", async () => {
    const home = tampered((lines) =>
      lines.map((l, i) => {
        if (i !== 4) return l;
        const record = JSON.parse(l) as AuditRecord;
        record.outcome = "rejected";
        record.hash = recordHash(record);
        return JSON.stringify(record);
      }),
    );
    const r = await verify(home, GROUP);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`${GROUP}.jsonl line 5`);
    expect(r.out).toContain("rewritten");
  });

  test("an edit with the whole chain recomputed after it is caught by the head kept outside the log", async () => {
    const home = tampered((lines) => {
      let prev = "";
      return lines.map((l, i) => {
        const record = JSON.parse(l) as AuditRecord;
        if (i === 4) record.outcome = "rejected";
        if (i >= 4) {
          record.prev = prev;
          record.hash = recordHash(record);
        }
        prev = record.hash;
        return JSON.stringify(record);
      });
    });
    const r = await verify(home, GROUP);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`${GROUP}.jsonl line ${lineCount}`);
    expect(r.out).toContain("differs from the head");
  });

  test("two swapped lines: exit 1, the first displaced line is named as reordered", async () => {
    const home = tampered((lines) => {
      const out = [...lines];
      [out[2], out[5]] = [out[5] as string, out[2] as string];
      return out;
    });
    const r = await verify(home, GROUP);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`${GROUP}.jsonl line 3`);
    expect(r.out).toContain("reordered");
  });

  test("a removed last line: exit 1, the truncation is named against the head", async () => {
    const home = tampered((lines) => lines.slice(0, -1));
    const r = await verify(home, GROUP);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`${GROUP}.jsonl line ${lineCount}`);
    expect(r.out).toContain("truncated");
  });

  test("an inserted forged line: exit 1, that line is named", async () => {
    const home = tampered((lines) => [
      ...lines.slice(0, 2),
      JSON.stringify({ ...(JSON.parse(lines[1] as string) as object), topic: "tool.invoke.forged" }),
      ...lines.slice(2),
    ]);
    const r = await verify(home, GROUP);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`${GROUP}.jsonl line 3`);
  });

  test("verify without --group checks every log and fails for the one damaged group", async () => {
    const home = tampered((lines) => lines.filter((_, i) => i !== 1));
    const r = await verify(home);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`${GROUP}.jsonl line 2`);
    expect(r.out).toMatch(/_core: ok/);
  });
});
