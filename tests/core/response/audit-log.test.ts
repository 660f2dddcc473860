import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AuditLog, AuditWriteError } from "../../../src/core/response/audit-log.ts";
import { canonicalJson, GENESIS_HASH, recordHash, toAuditRecordView } from "../../../src/core/response/audit-record.ts";
import { verifyAudit } from "../../../src/core/response/audit-verify.ts";
import { setKnownSecrets } from "../../../src/core/response/known-secrets.ts";
import { entry, faultyStorage, readLinesOf, tempHome, writeLinesTo } from "./audit-helpers.ts";

let t: ReturnType<typeof tempHome>;
beforeEach(() => {
  t = tempHome();
});
afterEach(() => t.cleanup());

const GH = ["ghp_", "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"].join("");

describe("AuditLog: writing", () => {
  test("many records across groups and batches form one valid chain per group", async () => {
    const log = new AuditLog(t.home, { maxBatch: 16 });
    const groups = ["work", "home", null];
    const pending = Array.from({ length: 600 }, (_, i) => log.append(entry(i, { group: groups[i % 3] })));
    const records = await Promise.all(pending);
    await log.close();

    expect(readdirSync(t.dir).sort()).toEqual([
      "_core.head",
      "_core.jsonl",
      "home.head",
      "home.jsonl",
      "work.head",
      "work.jsonl",
    ]);
    for (const name of ["work", "home", "_core"]) {
      const lines = readLinesOf(join(t.dir, `${name}.jsonl`)).map((l) => JSON.parse(l));
      expect(lines.map((r) => r.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
      expect(lines[0].prev).toBe(GENESIS_HASH);
      for (let i = 1; i < lines.length; i++) expect(lines[i].prev).toBe(lines[i - 1].hash);
      const head = JSON.parse(readFileSync(join(t.dir, `${name}.head`), "utf8"));
      expect(head).toEqual({ seq: 200, hash: lines[199].hash, file: `${name}.jsonl` });
    }
    const first = records[0];
    expect(first?.hash).toBe(recordHash(first as NonNullable<typeof first>));
    const results = await verifyAudit(t.home);
    expect(results.map((r) => [r.log, r.ok, r.records])).toEqual([
      ["_core", true, 200],
      ["home", true, 200],
      ["work", true, 200],
    ]);
  });

  test("a record has every field of the contract, and the hash covers the canonical JSON", async () => {
    const log = new AuditLog(t.home, { clock: () => new Date("2026-01-02T03:04:05.000Z") });
    const record = await log.append(
      entry(1, {
        kind: "rejected",
        outcome: "rejected",
        stage: 4,
        code: "RATE_LIMITED",
        detail: { reason: "bucket empty", retry_after: 3 },
      }),
    );
    await log.close();
    const line = JSON.parse(readLinesOf(join(t.dir, "work.jsonl"))[0] ?? "");
    expect(line).toEqual(record);
    expect(Object.keys(line)).toEqual([
      "seq",
      "ts",
      "group",
      "session",
      "kind",
      "topic",
      "correlation",
      "outcome",
      "stage",
      "code",
      "detail",
      "prev",
      "hash",
    ]);
    expect(line).toMatchObject({
      seq: 1,
      ts: "2026-01-02T03:04:05.000Z",
      group: "work",
      stage: 4,
      code: "RATE_LIMITED",
    });
    const { hash, ...rest } = line;
    const expected = new Bun.CryptoHasher("sha256").update(GENESIS_HASH + canonicalJson(rest)).digest("hex");
    expect(hash).toBe(expected);
  });

  test("append resolves only once the record is in the file", async () => {
    const log = new AuditLog(t.home);
    await log.append(entry(1));
    expect(readLinesOf(join(t.dir, "work.jsonl"))).toHaveLength(1);
    await log.close();
  });

  test("credential patterns are never written, even from error text and secret-named fields", async () => {
    const log = new AuditLog(t.home);
    await log.append(
      entry(1, {
        kind: "error",
        outcome: "error",
        code: "PLUGIN_ERROR",
        detail: {
          internal: `fetch failed: Authorization: Bearer ${GH} for postgres://u:hunter2pass@db/x`,
          api_token: "plain-value-1",
        },
      }),
    );
    await log.append(entry(2, { topic: `tool.invoke.${GH}`, session: GH }));
    await log.close();
    const raw = readFileSync(join(t.dir, "work.jsonl"), "utf8");
    for (const secret of [GH, "hunter2pass", "plain-value-1"]) expect(raw).not.toContain(secret);
    expect(raw).toContain("[REDACTED:");
    expect((await verifyAudit(t.home, "work"))[0]?.ok).toBe(true);
  });

  test("a field text seen before a secret was stored is scrubbed once the store knows it", async () => {
    // The scrubbed text of session, topic and correlation is remembered between records; storing a secret
    // must not leave its earlier, unscrubbed text in that memory.
    const value = "remembered-field-text";
    const log = new AuditLog(t.home);
    try {
      await log.append(entry(1, { session: value, correlation: value }));
      setKnownSecrets([value]);
      await log.append(entry(2, { session: value, correlation: value }));
    } finally {
      setKnownSecrets([]);
    }
    await log.close();
    const [first, second] = readLinesOf(join(t.dir, "work.jsonl")).map((l) => JSON.parse(l));
    expect(first.session).toBe(value);
    expect(second.session).toBe("[REDACTED:stored_secret]");
    expect(second.correlation).toBe("[REDACTED:stored_secret]");
    expect((await verifyAudit(t.home, "work"))[0]?.ok).toBe(true);
  });

  test("oversized detail is replaced by a bounded preview", async () => {
    const log = new AuditLog(t.home);
    const record = await log.append(entry(1, { detail: { big: "x".repeat(100_000) } }));
    await log.close();
    expect(record.detail).toMatchObject({ truncated: true });
    expect(readFileSync(join(t.dir, "work.jsonl"), "utf8").length).toBeLessThan(4_000);
  });

  test("writes are grouped into batches; maxBatch 1 writes and syncs every record alone", async () => {
    const batched = faultyStorage();
    const log = new AuditLog(t.home, { storage: batched.storage, flushIntervalMs: 5, maxBatch: 1000 });
    await Promise.all(Array.from({ length: 300 }, (_, i) => log.append(entry(i))));
    await log.close();
    expect(batched.calls.append).toBeLessThanOrEqual(3);

    const single = faultyStorage();
    const perRecord = new AuditLog(t.home, { storage: single.storage, maxBatch: 1 });
    for (let i = 0; i < 20; i++) await perRecord.append(entry(i, { group: "solo" }));
    await perRecord.close();
    expect(single.calls.append).toBe(20);
    expect((await verifyAudit(t.home)).every((r) => r.ok)).toBe(true);
  });

  test("by default an idle log writes at once and records arriving meanwhile share the next write", async () => {
    const { storage, calls } = faultyStorage();
    const log = new AuditLog(t.home, { storage });
    await log.append(entry(0));
    expect(calls.append).toBe(1);
    await Promise.all(Array.from({ length: 300 }, (_, i) => log.append(entry(i + 1))));
    expect(calls.append).toBeLessThanOrEqual(4);
    await log.close();
  });

  test("close() writes what is pending; append after close is refused", async () => {
    const log = new AuditLog(t.home, { flushIntervalMs: 10_000 });
    const pending = log.append(entry(1));
    await log.close();
    expect((await pending).seq).toBe(1);
    await expect(log.append(entry(2))).rejects.toBeInstanceOf(AuditWriteError);
  });

  test("an invalid group name is refused, never turned into a path", async () => {
    const log = new AuditLog(t.home);
    for (const group of ["../etc", "Work", "a/b", "_other", "", "x".repeat(33), "work\n"]) {
      await expect(log.append(entry(1, { group }))).rejects.toBeInstanceOf(AuditWriteError);
    }
    await log.close();
    expect(existsSync(join(t.home, "data", "etc.jsonl"))).toBe(false);
  });
});

describe("AuditLog: resuming", () => {
  test("a reopened log continues the sequence and the chain", async () => {
    const first = new AuditLog(t.home);
    for (let i = 0; i < 5; i++) await first.append(entry(i));
    await first.close();
    const second = new AuditLog(t.home);
    const next = await second.append(entry(5));
    await second.close();
    expect(next.seq).toBe(6);
    expect((await verifyAudit(t.home, "work"))[0]).toMatchObject({ ok: true, records: 6 });
  });

  test("a truncated tail is detected on open: reported, and new records refused (fail closed)", async () => {
    const first = new AuditLog(t.home);
    for (let i = 0; i < 5; i++) await first.append(entry(i));
    await first.close();
    const file = join(t.dir, "work.jsonl");
    writeLinesTo(file, readLinesOf(file).slice(0, 3));

    const second = new AuditLog(t.home);
    const problems = await second.openLog("work");
    expect(problems).toEqual([expect.objectContaining({ log: "work", what: "truncated", seq: 3 })]);
    expect(second.problems()).toHaveLength(1);
    await expect(second.append(entry(9))).rejects.toThrow(/damaged \(truncated/);
    // Other groups keep working.
    expect((await second.append(entry(9, { group: "home" }))).seq).toBe(1);
    await second.close();
    expect(readLinesOf(file)).toHaveLength(3);
  });

  test("an edited last record and a torn last line are detected on open", async () => {
    const first = new AuditLog(t.home);
    for (let i = 0; i < 3; i++) await first.append(entry(i));
    await first.close();
    const file = join(t.dir, "work.jsonl");
    const lines = readLinesOf(file);
    writeLinesTo(file, [...lines.slice(0, 2), (lines[2] ?? "").replace('"outcome":"ok"', '"outcome":"rejected"')]);
    const edited = new AuditLog(t.home);
    expect(await edited.openLog("work")).toEqual([expect.objectContaining({ what: "edited", seq: 3 })]);
    await edited.close();
  });

  test("a torn last line is a crash artefact: cut back, recorded in the core log, and the chain continues", async () => {
    const first = new AuditLog(t.home);
    for (let i = 0; i < 3; i++) await first.append(entry(i));
    await first.close();
    const file = join(t.dir, "work.jsonl");
    const lines = readLinesOf(file);
    writeFileSync(file, `${lines.join("\n")}\n{"seq":4,"ts"`);
    const torn = new AuditLog(t.home);
    expect(await torn.openLog("work")).toEqual([]);
    expect((await torn.append(entry(4))).seq).toBe(4);
    await torn.close();
    expect(readLinesOf(file)).toHaveLength(4);
    expect((await verifyAudit(t.home, "work"))[0]?.ok).toBe(true);
    const core = readLinesOf(join(t.dir, "_core.jsonl")).map((l) => JSON.parse(l));
    expect(core).toContainEqual(
      expect.objectContaining({ detail: expect.objectContaining({ event: "torn last line removed", bytes: 13 }) }),
    );
  });

  test("a torn line behind a head that names more records is not excused: truncation is reported", async () => {
    const first = new AuditLog(t.home);
    for (let i = 0; i < 3; i++) await first.append(entry(i));
    await first.close();
    const file = join(t.dir, "work.jsonl");
    const lines = readLinesOf(file);
    writeFileSync(file, `${lines.slice(0, 2).join("\n")}\n${(lines[2] ?? "").slice(0, 40)}`);
    const second = new AuditLog(t.home);
    expect(await second.openLog("work")).toEqual([expect.objectContaining({ what: "truncated" })]);
    await second.close();
  });

  test("a deleted head file is reported even for a one-record log (no silent re-heading)", async () => {
    const first = new AuditLog(t.home);
    await Promise.all(Array.from({ length: 300 }, (_, i) => first.append(entry(i + 1))));
    await first.close();
    Bun.spawnSync(["rm", join(t.dir, "work.head")]);
    const second = new AuditLog(t.home);
    expect(await second.openLog("work")).toEqual([expect.objectContaining({ what: "malformed", file: "work.head" })]);
    await second.close();

    rmSync(t.dir, { recursive: true, force: true });
    const short = new AuditLog(t.home);
    await short.append(entry(1));
    await short.close();
    Bun.spawnSync(["rm", join(t.dir, "work.head")]);
    const again = new AuditLog(t.home);
    expect(await again.openLog("work")).toEqual([expect.objectContaining({ what: "malformed", file: "work.head" })]);
    await again.close();
  });

  test("a new log has its head before its first record; a crash in the first batch is recorded in the core log", async () => {
    const first = new AuditLog(t.home, { syncIntervalMs: 60_000 });
    await first.openLog("work");
    expect(JSON.parse(readFileSync(join(t.dir, "work.head"), "utf8"))).toMatchObject({ seq: 0 });
    await first.append(entry(1));
    await first.flush();
    // The process dies here: written, never synced, the head still names record 0.
    const second = new AuditLog(t.home);
    expect(await second.openLog("work")).toEqual([]);
    expect((await second.append(entry(2))).seq).toBe(2);
    await second.close();
    const core = readLinesOf(join(t.dir, "_core.jsonl")).map((l) => JSON.parse(l));
    expect(core).toContainEqual(
      expect.objectContaining({
        detail: expect.objectContaining({ event: "audit log ahead of its head", head_seq: 0, last_seq: 1 }),
      }),
    );
    // The "crashed" writer still holds its file and a sync timer: release them before the home goes.
    await first.close();
  });
});

describe("AuditLog: write failures reject (fail closed)", () => {
  test("a log path that is a directory rejects the append", async () => {
    mkdirSync(join(t.dir, "work.jsonl"), { recursive: true });
    const log = new AuditLog(t.home);
    await expect(log.append(entry(1))).rejects.toBeInstanceOf(AuditWriteError);
    await expect(log.append(entry(2))).rejects.toThrow(/\[AUDIT\] Error: .*Fix:/);
    await log.close();
  });

  test("a failed append rejects its whole batch; the chain is intact when the disk recovers", async () => {
    const { storage, faults } = faultyStorage();
    const log = new AuditLog(t.home, { storage, retryAfterMs: 0 });
    await log.append(entry(1));
    faults.partial = true;
    const failed = await Promise.allSettled([log.append(entry(2)), log.append(entry(3))]);
    expect(failed.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    faults.partial = false;
    const next = await log.append(entry(4));
    await log.close();
    expect(next.seq).toBe(2);
    expect(readLinesOf(join(t.dir, "work.jsonl"))).toHaveLength(2);
    expect((await verifyAudit(t.home, "work"))[0]?.ok).toBe(true);
  });

  test("a partial write that cannot be cut back at once is cut back when writing works again", async () => {
    const { storage, faults } = faultyStorage();
    const log = new AuditLog(t.home, { storage, retryAfterMs: 0 });
    await log.append(entry(1));
    faults.partial = true;
    faults.truncate = true;
    await expect(log.append(entry(2))).rejects.toBeInstanceOf(AuditWriteError);
    faults.partial = false;
    await expect(log.append(entry(3))).rejects.toThrow(/retries on its own/);
    faults.truncate = false;
    expect((await log.append(entry(4))).seq).toBe(2);
    await log.close();
    expect(readLinesOf(join(t.dir, "work.jsonl"))).toHaveLength(2);
    expect((await verifyAudit(t.home, "work"))[0]?.ok).toBe(true);
  });

  test("a failed head update rejects the append; the log recovers and says so in the core log", async () => {
    const { storage, faults } = faultyStorage();
    const log = new AuditLog(t.home, { storage, retryAfterMs: 0 });
    await log.openLog("work");
    faults.head = true;
    await expect(log.append(entry(1))).rejects.toThrow(/ENOSPC/);
    faults.head = false;
    expect((await log.append(entry(2))).seq).toBe(2);
    await log.close();
    expect((await verifyAudit(t.home, "work"))[0]?.ok).toBe(true);
    const core = readLinesOf(join(t.dir, "_core.jsonl")).map((l) => JSON.parse(l));
    expect(core).toContainEqual(
      expect.objectContaining({ detail: expect.objectContaining({ event: "audit recovered", log: "work" }) }),
    );
  });

  test("while failed, records are refused without touching the disk until the retry interval passed", async () => {
    const { storage, faults, calls } = faultyStorage();
    const log = new AuditLog(t.home, { storage, retryAfterMs: 60_000 });
    await log.append(entry(1));
    faults.append = true;
    await expect(log.append(entry(2))).rejects.toBeInstanceOf(AuditWriteError);
    const attempts = calls.append;
    faults.append = false;
    for (let i = 0; i < 20; i++) await expect(log.append(entry(3 + i))).rejects.toBeInstanceOf(AuditWriteError);
    expect(calls.append).toBe(attempts);
    await log.close();
  });
});

describe("AuditLog: rotation", () => {
  test("rotated files continue the chain and verify together", async () => {
    const log = new AuditLog(t.home, { maxFileBytes: 2_000, maxBatch: 4 });
    for (let i = 0; i < 60; i++) await log.append(entry(i));
    await log.close();
    const files = readdirSync(t.dir).filter((f) => f.startsWith("work.") && f.endsWith(".jsonl"));
    expect(files.length).toBeGreaterThan(3);
    for (const f of files) expect(readFileSync(join(t.dir, f)).length).toBeLessThanOrEqual(2_000);

    const firstOfLive = JSON.parse(readLinesOf(join(t.dir, "work.jsonl"))[0] ?? "");
    const lastRotated = files
      .filter((f) => f !== "work.jsonl")
      .sort((a, b) => Number(a.split(".")[1]) - Number(b.split(".")[1]))
      .at(-1);
    const lastOfRotated = JSON.parse(readLinesOf(join(t.dir, lastRotated ?? "")).at(-1) ?? "");
    expect(firstOfLive.prev).toBe(lastOfRotated.hash);
    expect(firstOfLive.seq).toBe(lastOfRotated.seq + 1);
    expect((await verifyAudit(t.home, "work"))[0]).toMatchObject({ ok: true, records: 60 });

    // A reopened log keeps rotating with the next number and the same chain.
    const again = new AuditLog(t.home, { maxFileBytes: 2_000 });
    for (let i = 60; i < 80; i++) await again.append(entry(i));
    await again.close();
    expect((await verifyAudit(t.home, "work"))[0]).toMatchObject({ ok: true, records: 80 });
  });
});

describe("AuditLog: query", () => {
  test("filters by correlation, topic and kind and returns the most recent, oldest first", async () => {
    const log = new AuditLog(t.home, { maxFileBytes: 3_000 });
    for (let i = 0; i < 40; i++) {
      await log.append(entry(i % 10, { kind: i % 2 ? "routed" : "rejected", topic: `tool.invoke.t${i % 4}` }));
    }
    const byCorrelation = await log.query("work", { correlation: entry(3).correlation ?? "" });
    expect(byCorrelation.map((r) => r.seq)).toEqual([4, 14, 24, 34]);
    const recent = await log.query("work", { kind: "rejected", limit: 3 });
    expect(recent.map((r) => r.seq)).toEqual([35, 37, 39]);
    const byTopic = await log.query("work", { topic: "tool.invoke.t1", limit: 2 });
    expect(byTopic.map((r) => r.seq)).toEqual([34, 38]);
    await log.close();
  });

  test("never returns another group's records, and rejects names that could reach other files", async () => {
    const log = new AuditLog(t.home);
    await log.append(entry(1, { group: "alpha", detail: { note: "alpha only" } }));
    await log.append(entry(2, { group: "beta", detail: { note: "beta only" } }));
    await log.append(entry(3, { group: null }));
    const alpha = await log.query("alpha");
    expect(alpha).toHaveLength(1);
    expect(alpha.every((r) => r.group === "alpha")).toBe(true);
    expect((await log.query("_core")).map((r) => r.group)).toEqual([null]);
    expect(await log.query("gamma")).toEqual([]);
    for (const name of ["../audit/beta", "beta.jsonl", "beta/..", "BETA", "_beta", "", "*", "beta "]) {
      await expect(log.query(name)).rejects.toThrow(/invalid group name/);
    }
    await log.close();
  });
});

describe("toAuditRecordView", () => {
  test("maps a record to the plugin-facing view without chain internals", async () => {
    const log = new AuditLog(t.home, { clock: () => new Date("2026-01-01T00:00:00.000Z") });
    const record = await log.append(
      entry(1, { kind: "rejected", outcome: "rejected", stage: 2, code: "UNKNOWN_TOOL" }),
    );
    await log.close();
    expect(toAuditRecordView(record)).toEqual({
      seq: 1,
      timestamp: "2026-01-01T00:00:00.000Z",
      kind: "rejected",
      topic: "tool.invoke.hello.echo",
      correlation: entry(1).correlation ?? null,
      outcome: "rejected",
      stage: 2,
      code: "UNKNOWN_TOOL",
    });
  });
});

describe("AuditLog: grouped commits (syncIntervalMs)", () => {
  test("records resolve once written; fsync and head follow within the interval and at close", async () => {
    const log = new AuditLog(t.home, { syncIntervalMs: 20 });
    await Promise.all([1, 2, 3].map((i) => log.append(entry(i))));
    // The deferred sync moves the head without a close (an fsync on a loaded disk may take a while).
    const headSeq = () => JSON.parse(readFileSync(join(t.dir, "work.head"), "utf8")).seq;
    for (let i = 0; i < 1000 && headSeq() !== 3; i++) await Bun.sleep(10);
    expect(headSeq()).toBe(3);
    await log.append(entry(4));
    await log.close();
    expect(JSON.parse(readFileSync(join(t.dir, "work.head"), "utf8")).seq).toBe(4);
    expect((await verifyAudit(t.home, "work"))[0]?.ok).toBe(true);
  });

  test("the records written before the work ends share one commit there when the last is an interval old", async () => {
    let now = 0;
    const idle: (() => void)[] = [];
    const endWork = () => {
      for (const fn of idle.splice(0)) fn();
    };
    const options = { syncIntervalMs: 60_000, now: () => now, whenIdle: (fn: () => void) => idle.push(fn) };
    const log = new AuditLog(t.home, options);
    await log.openLog("work");
    const headSeq = () => JSON.parse(readFileSync(join(t.dir, "work.head"), "utf8")).seq;
    expect(headSeq()).toBe(0);
    // Ending within the interval of the head written at open: the commit waits for the interval.
    await log.append(entry(1));
    endWork();
    now += 1000;
    await log.append(entry(2));
    endWork();
    await log.flush();
    expect(headSeq()).toBe(0);
    // An interval after it: both wait for the end of the work, then one commit names the last (no close, no timer).
    now += 60_000;
    await log.append(entry(3));
    await log.append(entry(4));
    expect(log.durableHeads().work?.seq).toBe(0);
    endWork();
    for (let i = 0; i < 2000 && log.durableHeads().work?.seq !== 4; i++) await Bun.sleep(10);
    expect(headSeq()).toBe(4);
    expect(log.durableHeads().work).toEqual({ seq: 4, hash: expect.any(String) });
    // The next one is within the interval again: it waits (here: for the close).
    await log.append(entry(5));
    endWork();
    expect(log.durableHeads().work?.seq).toBe(4);
    await log.close();
    expect(headSeq()).toBe(5);
    expect((await verifyAudit(t.home, "work"))[0]?.ok).toBe(true);
  });

  test("a failed deferred sync refuses later records until a sync succeeds again", async () => {
    const { storage, faults, calls } = faultyStorage();
    const log = new AuditLog(t.home, { syncIntervalMs: 5, storage, retryAfterMs: 0 });
    await log.append(entry(1));
    faults.sync = true;
    for (let i = 0; i < 1000 && calls.failedSyncs === 0; i++) await Bun.sleep(10);
    expect(calls.failedSyncs).toBeGreaterThan(0);
    await expect(log.append(entry(2))).rejects.toBeInstanceOf(AuditWriteError);
    faults.sync = false;
    expect((await log.append(entry(3))).seq).toBe(2);
    await log.close();
    expect((await verifyAudit(t.home, "work"))[0]?.ok).toBe(true);
  });
});

test("grouped commits on the real storage: a commit that fails refuses later records, with its cause", async () => {
  const log = new AuditLog(t.home, { syncIntervalMs: 5, retryAfterMs: 60_000 });
  await log.append(entry(1));
  // The live file stays open (and writable); the head's directory is gone, so the next commit fails.
  rmSync(t.dir, { recursive: true, force: true });
  let refused: unknown = null;
  for (let i = 2, deadline = Date.now() + 20_000; refused === null && Date.now() < deadline; i++) {
    await log.append(entry(i)).catch((error: unknown) => {
      refused = error;
    });
    await Bun.sleep(10);
  }
  expect(refused).toBeInstanceOf(AuditWriteError);
  expect(String((refused as Error).message)).toContain("ENOENT");
  await log.close();
}, 30_000);

describe("AuditLog: what opening a log finds", () => {
  async function written(n: number): Promise<string[]> {
    const log = new AuditLog(t.home);
    for (let i = 0; i < n; i++) await log.append(entry(i));
    await log.close();
    return readLinesOf(join(t.dir, "work.jsonl"));
  }
  const problemsOnOpen = async () => {
    const log = new AuditLog(t.home);
    const found = await log.openLog("work");
    await expect(log.append(entry(50))).rejects.toThrow(/is damaged/);
    await log.close();
    return found.map((p) => [p.what, p.detail]);
  };

  test("an unreadable head, a last line that is not a record, an emptied log, a head that differs", async () => {
    const lines = await written(3);
    writeFileSync(join(t.dir, "work.head"), "garbage");
    expect(await problemsOnOpen()).toEqual([["malformed", "the head file is unreadable"]]);

    await written(0);
    rmSync(t.dir, { recursive: true, force: true });
    const fresh = await written(3);
    writeLinesTo(join(t.dir, "work.jsonl"), [...fresh, "not a record"]);
    expect(await problemsOnOpen()).toEqual([["malformed", "the last line is not a record"]]);

    writeFileSync(join(t.dir, "work.jsonl"), "");
    expect((await problemsOnOpen())[0]?.[0]).toBe("truncated");

    writeLinesTo(join(t.dir, "work.jsonl"), fresh);
    const headText = readFileSync(join(t.dir, "work.head"), "utf8");
    writeFileSync(join(t.dir, "work.head"), headText.replace(/"hash":"[0-9a-f]+"/, `"hash":"${"f".repeat(64)}"`));
    expect(await problemsOnOpen()).toEqual([["edited", "record 3 differs from the head"]]);
    expect(lines).toHaveLength(3);
  });

  test("a head's temporary file left by a crash is removed on open", async () => {
    await written(2);
    writeFileSync(join(t.dir, "work.head.tmp"), '{"seq":9');
    const log = new AuditLog(t.home);
    expect(await log.openLog("work")).toEqual([]);
    await log.close();
    expect(existsSync(join(t.dir, "work.head.tmp"))).toBe(false);
  });

  test("durable heads are what a checkpoint may sign: the head written, none for a damaged log", async () => {
    const log = new AuditLog(t.home, { syncIntervalMs: 60_000 });
    await log.append(entry(1));
    expect(log.durableHeads()).toEqual({ work: { seq: 0, hash: GENESIS_HASH } });
    await log.close();
    expect(log.durableHeads().work?.seq).toBe(1);
    writeFileSync(join(t.dir, "work.head"), "garbage");
    const damaged = new AuditLog(t.home);
    await damaged.openLog("work");
    expect(damaged.durableHeads()).toEqual({});
    await damaged.close();
  });

  test("a head that cannot be created at open is created by the recovery before the first record", async () => {
    const { storage, faults } = faultyStorage();
    faults.head = true;
    const log = new AuditLog(t.home, { storage, retryAfterMs: 0 });
    await log.openLog("work");
    expect(existsSync(join(t.dir, "work.head"))).toBe(false);
    faults.head = false;
    expect((await log.append(entry(1))).seq).toBe(1);
    await log.close();
    expect((await verifyAudit(t.home, "work"))[0]?.ok).toBe(true);
  });

  test("a live file cut short by someone else while the log was failing is not written over", async () => {
    const { storage, faults } = faultyStorage();
    const log = new AuditLog(t.home, { storage, retryAfterMs: 0 });
    for (let i = 0; i < 3; i++) await log.append(entry(i));
    faults.append = true;
    await expect(log.append(entry(3))).rejects.toBeInstanceOf(AuditWriteError);
    faults.append = false;
    writeFileSync(join(t.dir, "work.jsonl"), "");
    await expect(log.append(entry(4))).rejects.toBeInstanceOf(AuditWriteError);
    await log.close();
  });
});

describe("AuditLog: size budget and retention", () => {
  const logBytes = () =>
    readdirSync(t.dir)
      .filter((f) => /^work(\.\d+)?\.jsonl$/.test(f))
      .reduce((n, f) => n + readFileSync(join(t.dir, f)).length, 0);

  test("the oldest rotated files go once the log is over budget, recorded in the core log first; verify accepts it", async () => {
    const log = new AuditLog(t.home, { maxFileBytes: 2_000, maxBatch: 4, maxLogBytes: 6_000 });
    for (let i = 0; i < 200; i++) await log.append(entry(i));
    await Bun.sleep(50);
    await log.close();
    expect(logBytes()).toBeLessThanOrEqual(6_000 + 2_000);
    const core = readLinesOf(join(t.dir, "_core.jsonl")).map((l) => JSON.parse(l));
    const retention = core.filter((r) => r.detail?.event === "audit retention");
    expect(retention.length).toBeGreaterThan(0);
    const [work] = await verifyAudit(t.home, "work");
    expect(work?.ok).toBe(true);
    expect(work?.notes.some((n) => n.detail.includes("removed by retention"))).toBe(true);
    expect((await verifyAudit(t.home, "_core"))[0]?.ok).toBe(true);
  });

  test("a rotated file removed by someone else (no retention record for it) is still a deletion", async () => {
    const log = new AuditLog(t.home, { maxFileBytes: 2_000, maxBatch: 4, maxLogBytes: 6_000 });
    for (let i = 0; i < 200; i++) await log.append(entry(i));
    await Bun.sleep(50);
    await log.close();
    const rotated = readdirSync(t.dir)
      .filter((f) => /^work\.\d+\.jsonl$/.test(f))
      .sort((a, b) => Number(a.split(".")[1]) - Number(b.split(".")[1]));
    rmSync(join(t.dir, rotated[0] as string));
    const [work] = await verifyAudit(t.home, "work");
    expect(work?.problems.map((p) => p.what)).toContain("deleted");
  });
});
