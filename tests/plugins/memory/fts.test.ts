import type { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { MAX_QUERY_TOKENS, queryTokens, toFtsQuery } from "../../../plugins/memory/fts.ts";
import { MEMORY_MIGRATIONS } from "../../../plugins/memory/migrations.ts";
import { insertEntry, searchEntries } from "../../../plugins/memory/store.ts";
import { openMemoryDb } from "../../../src/storage/group-db.ts";

describe("toFtsQuery", () => {
  test("quotes each word and joins them for all/any", () => {
    expect(toFtsQuery("staging database")).toBe('"staging" "database"');
    expect(toFtsQuery("staging database", "any")).toBe('"staging" OR "database"');
  });

  test("FTS5 syntax becomes plain lowercase words", () => {
    expect(toFtsQuery('NEAR("a" b, 3) content:x* ^y -z (AND OR NOT)')).toBe(
      '"near" "a" "b" "3" "content" "x" "y" "z" "and" "or" "not"',
    );
  });

  test("nothing searchable gives null", () => {
    for (const raw of ["", "   ", '"""', "*^:()-+{}", "\u0000\u2028", "\u0301"]) expect(toFtsQuery(raw)).toBeNull();
  });

  test("unicode words survive, width variants are folded, duplicates dropped", () => {
    expect(queryTokens("Grüße ＡＢＣ abc 東京 café")).toEqual(["grüße", "abc", "東京", "café"]);
  });

  test("token count and length are bounded", () => {
    const many = Array.from({ length: 40 }, (_, i) => `w${i}`).join(" ");
    expect(queryTokens(many)).toHaveLength(MAX_QUERY_TOKENS);
    expect(queryTokens("a".repeat(500))[0]).toHaveLength(64);
  });
});

describe("random hostile queries never error", () => {
  let db: Database;
  beforeAll(() => {
    db = openMemoryDb(MEMORY_MIGRATIONS, "MEMORY");
    const provenance = { sessionId: "s", group: "main", createdAt: "2026-11-05T00:00:00.000Z" };
    for (const content of ["alpha beta", "near content tags", "AND OR NOT", "東京 café"]) {
      insertEntry(db, { type: "fact", content, tags: ["t"] }, provenance);
    }
  });
  afterAll(() => db.close());

  test("2,000 generated queries from an operator-heavy alphabet", () => {
    const alphabet = [
      '"',
      "'",
      "*",
      "^",
      ":",
      "(",
      ")",
      "{",
      "}",
      "-",
      "+",
      " ",
      "NEAR",
      "AND",
      "OR",
      "NOT",
      "alpha",
      "content",
      "tags",
      "\u0000",
      "\n",
      "東",
      "é",
      "\u0301",
      ";",
      "--",
      "%",
      "\\",
    ];
    let seed = 12345;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed;
    };
    for (let i = 0; i < 2_000; i++) {
      const length = next() % 12;
      const query = Array.from({ length }, () => alphabet[next() % alphabet.length]).join("");
      for (const match of ["all", "any"] as const) {
        expect(() => searchEntries(db, "main", { query, match, limit: 10 })).not.toThrow();
      }
    }
  });
});
