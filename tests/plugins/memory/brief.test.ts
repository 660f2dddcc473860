import { Database } from "bun:sqlite";
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  BEHAVIORAL_END,
  BEHAVIORAL_HEADER,
  buildBriefForGroup,
  composeBrief,
  FACTS_HEADER,
  flattenEntryText,
  generateBrief,
  QUOTED_NOTE,
} from "../../../plugins/memory/brief.ts";
import type { EntryType } from "../../../plugins/memory/entry-types.ts";
import { MEMORY_MIGRATIONS } from "../../../plugins/memory/migrations.ts";
import { insertEntry } from "../../../plugins/memory/store.ts";
import { closeAll, openGroupDb, openMemoryDb } from "../../../src/storage/group-db.ts";

const provenance = { sessionId: "s", group: "main", createdAt: "2026-11-05T12:00:00.000Z" };

function fill(db: Database, type: EntryType, count: number, content = (i: number) => `${type} number ${i}`): number[] {
  const ids: number[] = [];
  for (let i = 0; i < count; i++) ids.push(insertEntry(db, { type, content: content(i), tags: [] }, provenance, 10).id);
  return ids;
}

describe("flattenEntryText", () => {
  const variants: Record<string, string> = {
    CRLF: "\r\n",
    CR: "\r",
    LF: "\n",
    VT: "\u000b",
    FF: "\u000c",
    NEL: "\u0085",
    LS: "\u2028",
    PS: "\u2029",
    TAB: "\t",
    NUL: "\u0000",
    ESC: "\u001b",
    DEL: "\u007f",
    RLO: "\u202e",
    BOM: "\ufeff",
  };
  for (const [name, separator] of Object.entries(variants)) {
    test(`${name} becomes a space`, () => {
      expect(flattenEntryText(`one${separator}two`)).toBe("one two");
    });
  }

  test("runs collapse and ends are trimmed", () => {
    expect(flattenEntryText("\r\n\r\n  a \u2028\u2029 b\n")).toBe("a b");
  });
});

describe("generateBrief", () => {
  let db: Database;
  beforeEach(() => {
    db = openMemoryDb(MEMORY_MIGRATIONS, "MEMORY");
  });
  afterEach(() => db.close());

  test("is empty without entries", () => {
    expect(generateBrief(db)).toBe("");
  });

  test("puts behavioral entries first, under the warning, newest first", () => {
    fill(db, "fact", 2);
    fill(db, "preference", 1);
    fill(db, "correction", 1);
    const lines = generateBrief(db).split("\n");
    expect(lines[0]).toBe("## Memory brief");
    expect(lines[1]).toBe(BEHAVIORAL_HEADER);
    expect(lines[2]).toStartWith("> WARNING:");
    expect(lines[3]).toBe(QUOTED_NOTE);
    expect(lines[4]).toStartWith("- [correction #4, 2026-11-05]");
    expect(lines[5]).toStartWith("- [preference #3, 2026-11-05]");
    expect(lines[6]).toBe(BEHAVIORAL_END);
    expect(lines[7]).toBe(FACTS_HEADER);
    expect(lines[8]).toBe(QUOTED_NOTE);
    expect(lines.slice(9)).toEqual([
      '- [fact #2, 2026-11-05] "fact number 1"',
      '- [fact #1, 2026-11-05] "fact number 0"',
    ]);
  });

  test("only facts: no warning block", () => {
    fill(db, "context", 1);
    expect(generateBrief(db)).toBe(
      `## Memory brief\n${FACTS_HEADER}\n${QUOTED_NOTE}\n- [context #1, 2026-11-05] "context number 0"`,
    );
  });

  test("shows tags, flattened", () => {
    insertEntry(db, { type: "fact", content: "tagged", tags: ["a", "b"] }, provenance);
    expect(generateBrief(db)).toContain('- [fact #1, 2026-11-05] {"a", "b"} "tagged"');
  });

  test("caps at 50 entries by default, behavioral ones first", () => {
    fill(db, "fact", 40);
    fill(db, "instruction", 30);
    const lines = generateBrief(db).split("\n");
    const entries = lines.filter((line) => line.startsWith("- ["));
    expect(entries).toHaveLength(50);
    expect(entries.filter((line) => line.startsWith("- [instruction"))).toHaveLength(30);
  });

  test("caps at 10,000 characters when that comes first", () => {
    fill(db, "fact", 30, (i) => `${i} ${"long text ".repeat(190)}`);
    const brief = generateBrief(db);
    expect(brief.length).toBeLessThanOrEqual(10_000);
    const entries = brief.split("\n").filter((line) => line.startsWith("- ["));
    expect(entries.length).toBeGreaterThan(3);
    expect(entries.length).toBeLessThan(10);
  });

  test("custom limits, including a char cap too small for any entry", () => {
    fill(db, "instruction", 5);
    fill(db, "fact", 5);
    expect(
      generateBrief(db, { maxEntries: 3, maxChars: 10_000 })
        .split("\n")
        .filter((l) => l.startsWith("- [")),
    ).toHaveLength(3);
    expect(generateBrief(db, { maxEntries: 50, maxChars: 20 })).toBe("");
  });

  test("excludes superseded entries", () => {
    const [old] = fill(db, "preference", 1, () => "dark mode everywhere");
    insertEntry(
      db,
      { type: "preference", content: "light mode after all", tags: [], supersedes: old as number },
      provenance,
    );
    const brief = generateBrief(db);
    expect(brief).toContain("light mode after all");
    expect(brief).not.toContain("dark mode");
  });

  test("composeBrief never exceeds the char cap for any cap", () => {
    const entries = Array.from({ length: 60 }, (_, i) => ({
      id: i + 1,
      type: (i % 2 === 0 ? "instruction" : "fact") as EntryType,
      behavioral: i % 2 === 0,
      content: "x".repeat(((i * 37) % 300) + 1),
      tags: [],
      created_at: provenance.createdAt,
      session_id: "s",
      supersedes: null,
    }));
    for (let cap = 0; cap < 3_000; cap += 97) {
      expect(composeBrief(entries, { maxEntries: 50, maxChars: cap }).length).toBeLessThanOrEqual(cap);
    }
  });
});

describe("buildBriefForGroup", () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "carapace-brief-"));
  });
  afterEach(() => {
    closeAll();
    rmSync(root, { recursive: true, force: true });
  });

  test("returns the group's brief", async () => {
    const db = openGroupDb({ dataRoot: root, feature: "memory", group: "main", migrations: MEMORY_MIGRATIONS });
    fill(db, "preference", 1, () => "short answers");
    const brief = await buildBriefForGroup(root, "main");
    expect(brief).toContain("short answers");
    expect(brief).toContain(BEHAVIORAL_HEADER);
  });

  test("a group without memories gets an empty brief and no file", async () => {
    expect(await buildBriefForGroup(root, "nobody")).toBe("");
    expect(existsSync(join(root, "memory", "nobody.sqlite"))).toBe(false);
  });

  test("failures give null, so the session starts without a brief", async () => {
    expect(await buildBriefForGroup(root, "../escape")).toBeNull();
    expect(readdirSync(root)).toEqual([]);
    openGroupDb({ dataRoot: root, feature: "memory", group: "future", migrations: MEMORY_MIGRATIONS });
    closeAll();
    const raw = new Database(join(root, "memory", "future.sqlite"));
    raw.exec("PRAGMA user_version = 42");
    raw.close();
    expect(await buildBriefForGroup(root, "future")).toBeNull();
  });

  test("a blown budget gives null", async () => {
    const db = openGroupDb({ dataRoot: root, feature: "memory", group: "main", migrations: MEMORY_MIGRATIONS });
    fill(db, "fact", 1);
    expect(await buildBriefForGroup(root, "main", 0)).toBeNull();
  });
});
