import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AuditLog } from "../../../src/core/response/audit-log.ts";
import { recordHash } from "../../../src/core/response/audit-record.ts";
import { verifyAudit } from "../../../src/core/response/audit-verify.ts";
import { entry, readLinesOf, tempHome, writeLinesTo } from "./audit-helpers.ts";

let t: ReturnType<typeof tempHome>;
let file: string;
let lines: string[];

beforeEach(async () => {
  t = tempHome();
  const log = new AuditLog(t.home);
  await Promise.all(Array.from({ length: 10 }, (_, i) => log.append(entry(i))));
  await log.append(entry(99, { group: "other" }));
  await log.close();
  file = join(t.dir, "work.jsonl");
  lines = readLinesOf(file);
});
afterEach(() => t.cleanup());

async function problemsOf(group = "work") {
  const [result] = await verifyAudit(t.home, group);
  return result?.problems.map(({ file, line, seq, what }) => ({ file, line, seq, what })) ?? [];
}

const at = (i: number) => lines[i] ?? "";

describe("verifyAudit names the damaged line", () => {
  test("an untouched log verifies", async () => {
    const results = await verifyAudit(t.home);
    expect(results.map((r) => [r.log, r.ok, r.records, r.problems.length])).toEqual([
      ["other", true, 1, 0],
      ["work", true, 10, 0],
    ]);
  });

  test("a deleted line in the middle", async () => {
    writeLinesTo(
      file,
      lines.filter((_, i) => i !== 4),
    );
    expect(await problemsOf()).toEqual([{ file: "work.jsonl", line: 5, seq: 6, what: "deleted" }]);
  });

  test("several deleted lines and a deleted first line", async () => {
    writeLinesTo(
      file,
      lines.filter((_, i) => i !== 0 && i !== 5 && i !== 6),
    );
    expect(await problemsOf()).toEqual([
      { file: "work.jsonl", line: 1, seq: 2, what: "deleted" },
      { file: "work.jsonl", line: 5, seq: 8, what: "deleted" },
    ]);
  });

  test("an edited line (hash left alone)", async () => {
    const copy = [...lines];
    copy[6] = at(6).replace('"outcome":"ok"', '"outcome":"rejected"');
    writeLinesTo(file, copy);
    expect(await problemsOf()).toEqual([{ file: "work.jsonl", line: 7, seq: 7, what: "edited" }]);
  });

  test("an edited line whose hash was recomputed is caught by the next line's link", async () => {
    const copy = [...lines];
    const record = JSON.parse(at(3));
    record.outcome = "rejected";
    record.hash = recordHash(record);
    copy[3] = JSON.stringify(record);
    writeLinesTo(file, copy);
    expect(await problemsOf()).toEqual([{ file: "work.jsonl", line: 4, seq: 4, what: "edited" }]);
  });

  test("two swapped lines", async () => {
    const copy = [...lines];
    [copy[2], copy[3]] = [at(3), at(2)];
    writeLinesTo(file, copy);
    expect(await problemsOf()).toEqual([{ file: "work.jsonl", line: 3, seq: 4, what: "reordered" }]);
  });

  test("a line moved to the end", async () => {
    writeLinesTo(file, [...lines.slice(1), at(0)]);
    expect(await problemsOf()).toEqual([{ file: "work.jsonl", line: 1, seq: 2, what: "reordered" }]);
  });

  test("a duplicated line", async () => {
    writeLinesTo(file, [...lines.slice(0, 5), at(2), ...lines.slice(5)]);
    expect(await problemsOf()).toEqual([{ file: "work.jsonl", line: 6, seq: 3, what: "reordered" }]);
  });

  test("a truncated tail is detected through the head file", async () => {
    writeLinesTo(file, lines.slice(0, 7));
    const [result] = await verifyAudit(t.home, "work");
    expect(result?.problems).toEqual([
      expect.objectContaining({
        file: "work.jsonl",
        line: 8,
        seq: 8,
        what: "truncated",
        detail: expect.stringContaining("8..10"),
      }),
    ]);
  });

  test("an emptied log with its head left behind", async () => {
    writeFileSync(file, "");
    expect(await problemsOf()).toEqual([{ file: "work.jsonl", line: 1, seq: 1, what: "truncated" }]);
  });

  test("a garbage line is malformed", async () => {
    writeLinesTo(file, [...lines.slice(0, 2), "not json at all", ...lines.slice(2)]);
    expect(await problemsOf()).toEqual([{ file: "work.jsonl", line: 3, seq: null, what: "malformed" }]);
  });

  test("a deleted or unreadable head file", async () => {
    rmSync(join(t.dir, "work.head"));
    expect(await problemsOf()).toEqual([{ file: "work.head", line: null, seq: null, what: "malformed" }]);
    writeFileSync(join(t.dir, "work.head"), "{");
    expect(await problemsOf()).toEqual([{ file: "work.head", line: null, seq: null, what: "malformed" }]);
  });

  test("the head names a record whose hash differs", async () => {
    writeFileSync(join(t.dir, "work.head"), JSON.stringify({ seq: 10, hash: "f".repeat(64), file: "work.jsonl" }));
    expect(await problemsOf()).toEqual([{ file: "work.jsonl", line: 10, seq: 10, what: "edited" }]);
  });

  test("damage in one group does not affect another", async () => {
    writeLinesTo(file, lines.slice(1));
    expect((await verifyAudit(t.home, "other"))[0]?.ok).toBe(true);
  });

  test("problems carry a human-readable detail", async () => {
    writeLinesTo(
      file,
      lines.filter((_, i) => i !== 4),
    );
    const [result] = await verifyAudit(t.home, "work");
    expect(result?.problems[0]?.detail).toBe("record 5 is missing before this line");
  });

  test("an invalid group name is refused", async () => {
    await expect(verifyAudit(t.home, "../x")).rejects.toThrow(/not a valid group name/);
  });
});

describe("verifyAudit across rotated files", () => {
  test("a deleted line in a rotated file names that file and line", async () => {
    const home = tempHome();
    try {
      const log = new AuditLog(home.home, { maxFileBytes: 1_500 });
      for (let i = 0; i < 30; i++) await log.append(entry(i));
      await log.close();
      expect((await verifyAudit(home.home, "work"))[0]?.ok).toBe(true);
      const rotated = join(home.dir, "work.2.jsonl");
      const rotatedLines = readLinesOf(rotated);
      const victim = JSON.parse(rotatedLines[1] ?? "");
      writeLinesTo(
        rotated,
        rotatedLines.filter((_, i) => i !== 1),
      );
      const [result] = await verifyAudit(home.home, "work");
      expect(result?.problems.map(({ file, line, seq, what }) => ({ file, line, seq, what }))).toEqual([
        { file: "work.2.jsonl", line: 2, seq: victim.seq + 1, what: "deleted" },
      ]);
    } finally {
      home.cleanup();
    }
  });

  test("a whole rotated file removed is reported as deleted records", async () => {
    const home = tempHome();
    try {
      const log = new AuditLog(home.home, { maxFileBytes: 1_500 });
      for (let i = 0; i < 30; i++) await log.append(entry(i));
      await log.close();
      rmSync(join(home.dir, "work.1.jsonl"));
      const [result] = await verifyAudit(home.home, "work");
      expect(result?.problems).toEqual([expect.objectContaining({ file: "work.2.jsonl", line: 1, what: "deleted" })]);
    } finally {
      home.cleanup();
    }
  });
});

describe("verifyAudit against signed heads and crash artefacts", () => {
  const pin = (seq: number, hash: string) => new Map([["work", { seq, hash, source: "signed checkpoint #1" }]]);
  const hashOf = (i: number) => (JSON.parse(at(i)) as { hash: string }).hash;

  test("a pinned head that matches passes; one that differs, lies past the end, or names a vanished log fails", async () => {
    expect((await verifyAudit(t.home, "work", { pinned: pin(5, hashOf(4)) }))[0]?.ok).toBe(true);
    const [differs] = await verifyAudit(t.home, "work", { pinned: pin(5, "0".repeat(64)) });
    expect(differs?.problems.map((p) => p.what)).toEqual(["edited"]);
    const [past] = await verifyAudit(t.home, "work", { pinned: pin(12, hashOf(9)) });
    expect(past?.problems.map((p) => [p.what, p.line])).toEqual([["truncated", 11]]);
    const results = await verifyAudit(t.home, undefined, {
      pinned: new Map([["gone", { seq: 3, hash: "a".repeat(64), source: "signed checkpoint #2" }]]),
    });
    expect(results.find((r) => r.log === "gone")?.problems[0]).toMatchObject({ what: "deleted", seq: 3 });
  });

  test("an incomplete last line is a note, not a problem; in a rotated file it is a problem", async () => {
    writeFileSync(file, `${lines.join("\n")}\n{"seq":11,"ts":"2026`);
    const [live] = await verifyAudit(t.home, "work");
    expect(live?.ok).toBe(true);
    expect(live?.notes[0]?.detail).toContain("the last line is incomplete");
    renameSync(file, join(t.dir, "work.1.jsonl"));
    writeFileSync(file, "");
    const [rotated] = await verifyAudit(t.home, "work");
    expect(rotated?.problems.map((p) => p.what)).toContain("malformed");
  });

  test("a wrecked log lists a bounded number of problems and says how many more there are", async () => {
    writeLinesTo(file, [...lines, ...Array.from({ length: 1200 }, () => "garbage")]);
    const [result] = await verifyAudit(t.home, "work");
    expect(result?.problems.length).toBe(1000);
    expect(result?.notes.at(-1)?.detail).toMatch(/^20\d further problems not listed$/);
  });
});
