import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { ToolError } from "@carapace/sdk";
import { contextFor, entriesOf, type MemoryHarness, memoryHarness } from "./helpers.ts";

/** SQL, FTS5 and PRAGMA syntax an agent might send, on purpose or not. */
const HOSTILE = [
  '"',
  '"unbalanced',
  '""',
  "'",
  "NEAR(alpha beta)",
  "NEAR(alpha beta, 0)",
  "content:alpha",
  "tags:alpha",
  "{content tags}: alpha",
  "- alpha",
  "alpha*",
  "*",
  "^alpha",
  "(((",
  ")",
  "alpha AND (beta OR",
  "AND",
  "OR",
  "NOT",
  "alpha NOT",
  "entries_fts:*",
  "rank MATCH 'x'",
  "'; DROP TABLE entries; --",
  '" OR 1=1 --',
  "1); DELETE FROM entries; --",
  "x' UNION SELECT sql, 1, 1, 1, 1, 1, 1 FROM sqlite_master --",
  "PRAGMA user_version = 99",
  "PRAGMA writable_schema = ON",
  "ATTACH DATABASE '/tmp/evil.sqlite' AS evil",
  "bm25(entries_fts)",
  "\u0000alpha\u0000",
  "alpha\u2028beta\u0085gamma",
  "ａｌｐｈａ　＂ＮＥＡＲ＂",
  "🦀 alpha",
  "a".repeat(500),
  '"'.repeat(500),
  "(".repeat(250) + ")".repeat(250),
  "%_\\",
];

let h: MemoryHarness;
const ctx = contextFor("main");
beforeAll(async () => {
  h = await memoryHarness({ store_quota: 1_000 });
  await h.call("memory_store", { type: "fact", content: "alpha beta gamma baseline entry" }, ctx);
  await h.call("memory_store", { type: "fact", content: "secret of the other group" }, contextFor("other"));
});
afterAll(() => h.cleanup());

function assertDatabaseIntact(): void {
  const db = new Database(join(h.dataRoot, "memory", "main.sqlite"));
  expect(db.query("PRAGMA user_version").get()).toEqual({ user_version: 1 });
  expect(db.query("PRAGMA integrity_check").get()).toEqual({ integrity_check: "ok" });
  db.exec("INSERT INTO entries_fts (entries_fts) VALUES ('integrity-check')");
  const tables = db
    .query<{ name: string }, []>("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'entries'")
    .all();
  expect(tables).toHaveLength(1);
  db.close();
}

describe("hostile queries", () => {
  for (const query of HOSTILE) {
    test(`search ${JSON.stringify(query.slice(0, 40))} neither errors nor escapes`, async () => {
      for (const match of ["all", "any"]) {
        const result = await h.call("memory_search", { query, match }, ctx);
        for (const entry of entriesOf(result)) expect(entry.content).not.toContain("other group");
      }
    });
  }

  test("operators are plain words: column filters, prefixes and NOT lose their meaning", async () => {
    // As FTS5 syntax, "^alpha* beta" is an initial-token prefix query; as words it is alpha + beta.
    expect(entriesOf(await h.call("memory_search", { query: "^alpha* beta" }, ctx))).toHaveLength(1);
    // A column filter would restrict to `content`; as words, "content" is just one more term.
    expect(entriesOf(await h.call("memory_search", { query: "content:alpha", match: "any" }, ctx))).toHaveLength(1);
    // FTS5 NOT would exclude beta; as words, "not" is required and beta is wanted, so nothing matches.
    expect(entriesOf(await h.call("memory_search", { query: "alpha NOT beta" }, ctx))).toHaveLength(0);
    expect(entriesOf(await h.call("memory_search", { query: "alpha NOT beta", match: "any" }, ctx))).toHaveLength(1);
  });

  test("the database is intact afterwards", () => {
    assertDatabaseIntact();
  });
});

describe("hostile content and tags", () => {
  for (const text of HOSTILE) {
    test(`content ${JSON.stringify(text.slice(0, 40))} is stored verbatim and found as text`, async () => {
      const content = `marker ${text}`;
      const stored = await h.call(
        "memory_store",
        // biome-ignore lint/suspicious/noControlCharactersInRegex: tags may not hold control characters.
        { type: "fact", content, tags: [text.replace(/[\s\u0000-\u001f\u007f-\u009f]/g, "_").slice(0, 48)] },
        ctx,
      );
      const found = entriesOf(await h.call("memory_search", { query: "marker", limit: 50 }, ctx));
      const mine = found.find((entry) => entry.id === stored.id);
      expect(mine?.content).toBe(content.trim());
    });
  }

  test("tags with SQL in them filter exactly, never as SQL", async () => {
    await h.call("memory_store", { type: "fact", content: "tagged with sql", tags: ["x')--", "1=1"] }, ctx);
    const hit = entriesOf(await h.call("memory_search", { tags: ["x')--"] }, ctx));
    expect(hit.map((e) => e.content)).toEqual(["tagged with sql"]);
    expect(entriesOf(await h.call("memory_search", { tags: ["'OR'1'='1"] }, ctx))).toHaveLength(0);
  });

  test("arguments of the wrong shape are refused, not interpolated", async () => {
    const cases: Record<string, unknown>[] = [
      { type: "fact' OR 1=1 --", content: "x" },
      { type: "fact", content: { toString: "x" } },
      { type: "fact", content: "x", supersedes: "1 OR 1=1" },
      { type: "fact", content: "x", tags: "notalist" },
      { type: "fact", content: "x", tags: ["has space"] },
      { type: "fact", content: "x", tags: ["line\nbreak"] },
    ];
    for (const args of cases) expect((await h.callError("memory_store", args, ctx)).code).toBe("INVALID_ARGUMENTS");
    expect((await h.callError("memory_search", { types: ["fact') OR 1=1 --"] }, ctx)).code).toBe("INVALID_ARGUMENTS");
    expect((await h.callError("memory_search", { limit: "1; DROP TABLE entries" }, ctx)).code).toBe(
      "INVALID_ARGUMENTS",
    );
    expect((await h.callError("memory_delete", { id: "1 OR 1=1" }, ctx)).code).toBe("INVALID_ARGUMENTS");
  });

  test("PRAGMA text in content changes nothing", async () => {
    await h.call(
      "memory_store",
      { type: "instruction", content: "PRAGMA user_version = 99; PRAGMA journal_mode = DELETE" },
      ctx,
    );
    assertDatabaseIntact();
    const db = new Database(join(h.dataRoot, "memory", "main.sqlite"), { readonly: true });
    expect(db.query("PRAGMA journal_mode").get()).toEqual({ journal_mode: "wal" });
    db.close();
  });
});

describe("hostile group names", () => {
  const groups = [
    "../main",
    "..",
    "Main",
    "MAIN",
    "a/b",
    "",
    "x".repeat(33),
    "main\u0000",
    "main.sqlite",
    "main/../other",
    "/etc/passwd",
    "~root",
    "ok group",
  ];
  for (const group of groups) {
    test(`group ${JSON.stringify(group)} is refused by every tool and creates no file`, async () => {
      const before = readdirSync(join(h.dataRoot, "memory")).sort();
      const calls: [string, Record<string, unknown>][] = [
        ["memory_store", { type: "fact", content: "escape" }],
        ["memory_search", { query: "alpha" }],
        ["memory_brief", {}],
        ["memory_delete", { id: 1 }],
      ];
      for (const [tool, args] of calls) {
        const error = await h.callError(tool, args, contextFor(group));
        expect(error).toBeInstanceOf(ToolError);
        expect(error.code).toBe("STORAGE_UNAVAILABLE");
        expect(error.message).toMatch(/^\[MEMORY\] Error: invalid group name/);
      }
      expect(readdirSync(join(h.dataRoot, "memory")).sort()).toEqual(before);
      expect(readdirSync(h.dataRoot).sort()).toEqual(["memory"]);
    });
  }
});
