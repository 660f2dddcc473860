import { Database } from "bun:sqlite";
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { MEMORY_MIGRATIONS } from "../../../plugins/memory/migrations.ts";
import { closeAll, openGroupDb } from "../../../src/storage/group-db.ts";
import { contextFor, entriesOf, type MemoryHarness, memoryHarness } from "./helpers.ts";

let harness: MemoryHarness | undefined;
afterEach(() => {
  harness?.cleanup();
  harness = undefined;
});

async function setup(config: Record<string, unknown> = {}, options = {}): Promise<MemoryHarness> {
  harness = await memoryHarness(config, options);
  return harness;
}

describe("store → search → brief → delete", () => {
  test("round trip through the handler with a real SQLite file", async () => {
    const h = await setup();
    const ctx = contextFor("main", "session-a", "2026-11-05T10:00:00.000Z");
    const stored = await h.call(
      "memory_store",
      { type: "fact", content: "The staging database is billing_stage.", tags: ["Billing", "db"] },
      ctx,
    );
    expect(stored).toMatchObject({
      type: "fact",
      behavioral: false,
      tags: ["billing", "db"],
      created_at: "2026-11-05T10:00:00.000Z",
      supersedes: null,
    });
    expect(stored.quota_remaining).toEqual({ stores: 19, supersedes: 5, deletes: 5 });
    expect(existsSync(join(h.dataRoot, "memory", "main.sqlite"))).toBe(true);

    await h.call("memory_store", { type: "preference", content: "Short answers, no bullet lists." }, ctx);
    const found = entriesOf(await h.call("memory_search", { query: "staging database" }, ctx));
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({
      id: stored.id,
      content: "The staging database is billing_stage.",
      session_id: "session-a",
    });
    expect(typeof found[0]?.score).toBe("number");

    const brief = (await h.call("memory_brief", {}, ctx)).brief as string;
    expect(brief).toContain("billing_stage");
    expect(brief.indexOf("Short answers")).toBeLessThan(brief.indexOf("billing_stage"));

    expect(await h.call("memory_delete", { id: stored.id as number }, ctx)).toMatchObject({ deleted: stored.id });
    expect(entriesOf(await h.call("memory_search", { query: "staging" }, ctx))).toHaveLength(0);
    expect((await h.call("memory_brief", {}, ctx)).brief).not.toContain("billing_stage");
  });

  test("behavioral follows the type, for every type", async () => {
    const h = await setup();
    const ctx = contextFor("main");
    const expected: Record<string, boolean> = {
      preference: true,
      instruction: true,
      correction: true,
      fact: false,
      context: false,
    };
    for (const [type, behavioral] of Object.entries(expected)) {
      expect((await h.call("memory_store", { type, content: `a ${type} entry` }, ctx)).behavioral).toBe(behavioral);
    }
    const listed = entriesOf(await h.call("memory_search", { limit: 50 }, ctx));
    for (const entry of listed) expect(entry.behavioral).toBe(expected[entry.type] as boolean);
    // The database's generated column agrees with the code.
    const db = new Database(join(h.dataRoot, "memory", "main.sqlite"), { readonly: true });
    const rows = db.query<{ type: string; behavioral: number }, []>("SELECT type, behavioral FROM entries").all();
    db.close();
    for (const row of rows) expect(row.behavioral === 1).toBe(expected[row.type] as boolean);
  });

  test("search filters by type and tags in SQL, before the limit", async () => {
    const h = await setup({ store_quota: 100 });
    const ctx = contextFor("main");
    // 30 matching facts would fill a LIMIT 5 before the single tagged instruction if filtering came after it.
    for (let i = 0; i < 30; i++)
      await h.call("memory_store", { type: "fact", content: `deploy note ${i}`, tags: ["ops"] }, ctx);
    await h.call(
      "memory_store",
      { type: "instruction", content: "deploy only on weekdays", tags: ["ops", "policy"] },
      ctx,
    );
    const byType = entriesOf(await h.call("memory_search", { query: "deploy", types: ["instruction"], limit: 5 }, ctx));
    expect(byType.map((e) => e.content)).toEqual(["deploy only on weekdays"]);
    const byTags = entriesOf(
      await h.call("memory_search", { query: "deploy", tags: ["ops", "policy"], limit: 5 }, ctx),
    );
    expect(byTags.map((e) => e.content)).toEqual(["deploy only on weekdays"]);
    const tagsOnly = entriesOf(await h.call("memory_search", { tags: ["policy"] }, ctx));
    expect(tagsOnly).toHaveLength(1);
    expect(entriesOf(await h.call("memory_search", { query: "deploy", limit: 5 }, ctx))).toHaveLength(5);
  });

  test("match all vs any, and bm25 puts the better match first", async () => {
    const h = await setup();
    const ctx = contextFor("main");
    await h.call("memory_store", { type: "fact", content: "coffee is served at nine" }, ctx);
    await h.call("memory_store", { type: "fact", content: "tea tea tea, the team drinks tea" }, ctx);
    await h.call(
      "memory_store",
      { type: "fact", content: "tea once, in a long sentence about many other different unrelated things" },
      ctx,
    );
    expect(entriesOf(await h.call("memory_search", { query: "coffee tea" }, ctx))).toHaveLength(0);
    const any = entriesOf(await h.call("memory_search", { query: "coffee tea", match: "any" }, ctx));
    expect(any).toHaveLength(3);
    const tea = entriesOf(await h.call("memory_search", { query: "tea" }, ctx));
    expect(tea[0]?.content).toStartWith("tea tea tea");
  });

  test("an unknown tool and stray arguments are ToolErrors", async () => {
    const h = await setup();
    const ctx = contextFor("main");
    expect((await h.callError("memory_wipe", {}, ctx)).code).toBe("UNSUPPORTED_TOOL");
    expect((await h.callError("memory_brief", { group: "other" }, ctx)).code).toBe("INVALID_ARGUMENTS");
    expect((await h.callError("memory_store", { type: "fact", content: "   " }, ctx)).code).toBe("INVALID_ARGUMENTS");
    expect((await h.callError("memory_store", { type: "fact", content: "x".repeat(2001) }, ctx)).code).toBe(
      "INVALID_ARGUMENTS",
    );
    expect((await h.callError("memory_search", { limit: 51 }, ctx)).code).toBe("INVALID_ARGUMENTS");
    expect((await h.callError("memory_delete", { id: 999 }, ctx)).code).toBe("NOT_FOUND");
  });

  test("an empty group gets an empty brief", async () => {
    const h = await setup();
    expect(await h.call("memory_brief", {}, contextFor("fresh"))).toEqual({ brief: "" });
  });
});

describe("provenance", () => {
  test("comes from the context and cannot be set or changed", async () => {
    const h = await setup();
    const ctx = contextFor("main", "real-session", "2026-11-01T08:00:00.000Z");
    const err = await h.callError(
      "memory_store",
      { type: "fact", content: "x", session_id: "forged", created_at: "1999-01-01" },
      ctx,
    );
    expect(err.code).toBe("INVALID_ARGUMENTS");
    const stored = await h.call("memory_store", { type: "fact", content: "provenance check", tags: ["t"] }, ctx);
    const db = new Database(join(h.dataRoot, "memory", "main.sqlite"));
    const row = db
      .query("SELECT session_id, group_name, created_at FROM entries WHERE id = ?")
      .get(stored.id as number);
    expect(row).toEqual({ session_id: "real-session", group_name: "main", created_at: "2026-11-01T08:00:00.000Z" });
    for (const column of ["session_id", "group_name", "created_at", "content", "type", "tags"]) {
      expect(() => db.query(`UPDATE entries SET ${column} = 'x' WHERE id = ?`).run(stored.id as number)).toThrow(
        /immutable/,
      );
    }
    expect(() => db.query("UPDATE entries SET behavioral = 0").run()).toThrow();
    expect(() => db.query("UPDATE entry_tags SET tag = 'x'").run()).toThrow();
    db.close();
  });
});

describe("quotas", () => {
  test("20 stores, 5 supersedes, 5 deletes per session by default", async () => {
    const h = await setup();
    const ctx = contextFor("main");
    const ids: number[] = [];
    for (let i = 0; i < 20; i++)
      ids.push((await h.call("memory_store", { type: "fact", content: `fact ${i}` }, ctx)).id as number);
    const over = await h.callError("memory_store", { type: "fact", content: "one too many" }, ctx);
    expect(over.code).toBe("QUOTA_EXCEEDED");
    expect(over.retriable).toBe(false);
    for (let i = 0; i < 5; i++) await h.call("memory_delete", { id: ids[i] as number }, ctx);
    expect((await h.callError("memory_delete", { id: ids[5] as number }, ctx)).code).toBe("QUOTA_EXCEEDED");
    // Another session of the same group has its own budget.
    const other = contextFor("main");
    await h.call("memory_store", { type: "fact", content: "fresh session" }, other);
    await h.call("memory_delete", { id: ids[5] as number }, other);
  });

  test("supersedes have their own quota and count as stores", async () => {
    const h = await setup({ store_quota: 50 });
    const ctx = contextFor("main");
    let id = (await h.call("memory_store", { type: "preference", content: "v0" }, ctx)).id as number;
    for (let i = 1; i <= 5; i++)
      id = (await h.call("memory_store", { type: "preference", content: `v${i}`, supersedes: id }, ctx)).id as number;
    const err = await h.callError("memory_store", { type: "preference", content: "v6", supersedes: id }, ctx);
    expect(err.code).toBe("QUOTA_EXCEEDED");
    expect(
      (await h.call("memory_store", { type: "fact", content: "plain stores still work" }, ctx)).quota_remaining,
    ).toEqual({
      stores: 43,
      supersedes: 0,
      deletes: 5,
    });
  });

  test("failed writes do not spend quota; limits come from config", async () => {
    const h = await setup({ store_quota: 2, delete_quota: 1, supersede_quota: 0 });
    const ctx = contextFor("main");
    await h.callError("memory_delete", { id: 12345 }, ctx);
    const a = (await h.call("memory_store", { type: "fact", content: "a" }, ctx)).id as number;
    expect((await h.callError("memory_store", { type: "fact", content: "b", supersedes: a }, ctx)).code).toBe(
      "QUOTA_EXCEEDED",
    );
    await h.call("memory_store", { type: "fact", content: "b" }, ctx);
    expect((await h.callError("memory_store", { type: "fact", content: "c" }, ctx)).code).toBe("QUOTA_EXCEEDED");
    await h.call("memory_delete", { id: a }, ctx);
    expect((await h.callError("memory_delete", { id: a + 1 }, ctx)).code).toBe("QUOTA_EXCEEDED");
  });
});

describe("supersedes", () => {
  test("retires the old entry in the same step", async () => {
    const h = await setup();
    const ctx = contextFor("main", "s1", "2026-11-02T00:00:00.000Z");
    const old = (await h.call("memory_store", { type: "preference", content: "answers in German" }, ctx)).id as number;
    const next = await h.call(
      "memory_store",
      { type: "preference", content: "answers in English", supersedes: old },
      ctx,
    );
    expect(next.supersedes).toBe(old);
    const found = entriesOf(await h.call("memory_search", { query: "answers" }, ctx));
    expect(found.map((e) => e.content)).toEqual(["answers in English"]);
    const brief = (await h.call("memory_brief", {}, ctx)).brief as string;
    expect(brief).not.toContain("German");
    const again = await h.callError("memory_store", { type: "preference", content: "French", supersedes: old }, ctx);
    expect(again.code).toBe("ALREADY_SUPERSEDED");
    expect(again.message).toContain(String(next.id));
  });

  test("is atomic: a failing insert leaves the old entry current", async () => {
    const h = await setup();
    const ctx = contextFor("main");
    const old = (await h.call("memory_store", { type: "fact", content: "kept current" }, ctx)).id as number;
    const db = new Database(join(h.dataRoot, "memory", "main.sqlite"));
    // Make the insert fail inside the transaction, after the supersede checks passed.
    db.exec(
      "CREATE TRIGGER fail_insert BEFORE INSERT ON entries WHEN new.content = 'boom' BEGIN SELECT RAISE(ABORT, 'forced'); END",
    );
    expect(() =>
      h.plugin.handleToolInvocation("memory_store", { type: "fact", content: "boom", supersedes: old }, ctx),
    ).toThrow(/forced/);
    expect(db.query("SELECT superseded_by FROM entries WHERE id = ?").get(old)).toEqual({ superseded_by: null });
    db.close();
    expect(entriesOf(await h.call("memory_search", { query: "kept current" }, ctx))).toHaveLength(1);
    expect((await h.call("memory_store", { type: "fact", content: "x" }, ctx)).quota_remaining).toMatchObject({
      stores: 18,
      supersedes: 5,
    });
  });

  test("chains are bounded to 10 versions", async () => {
    const h = await setup({ store_quota: 100, supersede_quota: 100 });
    const ctx = contextFor("main");
    let id = (await h.call("memory_store", { type: "fact", content: "version 1" }, ctx)).id as number;
    for (let v = 2; v <= 10; v++)
      id = (await h.call("memory_store", { type: "fact", content: `version ${v}`, supersedes: id }, ctx)).id as number;
    const err = await h.callError("memory_store", { type: "fact", content: "version 11", supersedes: id }, ctx);
    expect(err.code).toBe("SUPERSEDE_CHAIN_TOO_LONG");
    expect(entriesOf(await h.call("memory_search", { query: "version" }, ctx)).map((e) => e.content)).toEqual([
      "version 10",
    ]);
  });

  test("a missing or foreign target is NOT_FOUND", async () => {
    const h = await setup();
    const foreign = (await h.call("memory_store", { type: "fact", content: "group b entry" }, contextFor("group-b")))
      .id as number;
    const err = await h.callError(
      "memory_store",
      { type: "fact", content: "x", supersedes: foreign },
      contextFor("group-a"),
    );
    expect(err.code).toBe("NOT_FOUND");
    expect(entriesOf(await h.call("memory_search", { query: "group" }, contextFor("group-b")))).toHaveLength(1);
  });

  test("old superseded entries are purged at initialize", async () => {
    const first = await setup({}, { now: () => new Date("2026-01-01T00:00:00Z") });
    const ctx = contextFor("main", "s", "2026-01-01T00:00:00.000Z");
    const old = (await first.call("memory_store", { type: "fact", content: "old" }, ctx)).id as number;
    await first.call("memory_store", { type: "fact", content: "new", supersedes: old }, ctx);
    first.plugin.shutdown();
    closeAll();
    const later = await memoryHarness(
      { purge_superseded_after_days: 30 },
      { now: () => new Date("2026-03-01T00:00:00Z") },
      first.dataRoot,
    );
    const db = new Database(join(first.dataRoot, "memory", "main.sqlite"), { readonly: true });
    expect(db.query("SELECT content FROM entries").all()).toEqual([{ content: "new" }]);
    db.close();
    expect(later.log.some((line) => line.message.includes("purged 1"))).toBe(true);
    later.cleanup();
  });
});

describe("group isolation", () => {
  test("group A never sees group B through any tool", async () => {
    const h = await setup();
    const a = contextFor("group-a");
    const b = contextFor("group-b");
    // Ids are per group file: B's first entry and A's first entry both have id 1.
    const bFirst = (await h.call("memory_store", { type: "fact", content: "B's first note" }, b)).id as number;
    const secret = (
      await h.call("memory_store", { type: "instruction", content: "zebra password hint for B", tags: ["zebra"] }, b)
    ).id as number;
    const aFirst = (await h.call("memory_store", { type: "fact", content: "A's own note" }, a)).id as number;
    expect(aFirst).toBe(bFirst);
    expect(entriesOf(await h.call("memory_search", { query: "zebra" }, a))).toHaveLength(0);
    expect(entriesOf(await h.call("memory_search", { tags: ["zebra"] }, a))).toHaveLength(0);
    expect(entriesOf(await h.call("memory_search", { limit: 50 }, a)).map((e) => e.content)).toEqual(["A's own note"]);
    expect((await h.call("memory_brief", {}, a)).brief).not.toContain("zebra");
    expect((await h.callError("memory_delete", { id: secret }, a)).code).toBe("NOT_FOUND");
    expect((await h.callError("memory_store", { type: "fact", content: "x", supersedes: secret }, a)).code).toBe(
      "NOT_FOUND",
    );
    expect(entriesOf(await h.call("memory_search", { query: "zebra" }, b))).toHaveLength(1);
    // Deleting "id 1" in A removes A's entry only.
    await h.call("memory_delete", { id: aFirst }, a);
    expect(entriesOf(await h.call("memory_search", { limit: 50 }, a))).toHaveLength(0);
    expect(entriesOf(await h.call("memory_search", { limit: 50 }, b))).toHaveLength(2);
    expect(existsSync(join(h.dataRoot, "memory", "group-a.sqlite"))).toBe(true);
    expect(existsSync(join(h.dataRoot, "memory", "group-b.sqlite"))).toBe(true);
  });
});

describe("loading", () => {
  test("the module's default export is a ready-to-initialize handler", async () => {
    const module = await import("../../../plugins/memory/handler.ts");
    const handler = module.default;
    expect(typeof handler.initialize).toBe("function");
    expect(typeof handler.handleToolInvocation).toBe("function");
    expect(typeof handler.shutdown).toBe("function");
    expect(handler).toBeInstanceOf(module.MemoryPlugin);
  });

  test("calls before initialize are a retriable NOT_READY", async () => {
    const { MemoryPlugin } = await import("../../../plugins/memory/handler.ts");
    const plugin = new MemoryPlugin();
    expect(() => plugin.handleToolInvocation("memory_brief", {}, contextFor("main"))).toThrow(
      expect.objectContaining({ code: "NOT_READY", retriable: true }),
    );
  });

  test("a group with a newer schema is logged at init and refused per call; other groups work", async () => {
    const first = await setup();
    await first.call("memory_store", { type: "fact", content: "from the future" }, contextFor("future"));
    first.plugin.shutdown();
    closeAll();
    const raw = new Database(join(first.dataRoot, "memory", "future.sqlite"));
    raw.exec("PRAGMA user_version = 9");
    raw.close();
    const later = await memoryHarness({}, {}, first.dataRoot);
    try {
      expect(later.log.some((line) => line.level === "error" && line.message.includes("schema version 9"))).toBe(true);
      const error = await later.callError("memory_search", { query: "future" }, contextFor("future"));
      expect(error.code).toBe("STORAGE_UNAVAILABLE");
      expect(error.message).toMatch(/^\[MEMORY\] Error: .* Fix: upgrade carapace/);
      await later.call("memory_store", { type: "fact", content: "present" }, contextFor("present"));
    } finally {
      later.cleanup();
    }
  });
});

describe("reading", () => {
  test("a group's database is read through a memory map", async () => {
    const h = await setup();
    await h.call("memory_search", { query: "anything" }, contextFor("main", "s", "2026-11-05T10:00:00.000Z"));
    const db = openGroupDb({ dataRoot: h.dataRoot, feature: "memory", group: "main", migrations: MEMORY_MIGRATIONS });
    expect(db.query<{ mmap_size: number }, []>("PRAGMA mmap_size").get()?.mmap_size).toBeGreaterThan(0);
  });
});
