/**
 * Rotation off the calls' path: the live file is renamed and a new one opened at once, the rotated file's
 * last commit runs after. These pin that a call's record is not held by that commit, that no head names a
 * record of the new file before the rotated one is durable, and that a crash at each step of a rotation
 * (a storage fake that keeps only synced bytes) reopens to a chain `audit verify` accepts.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { AuditLog } from "../../../src/core/response/audit-log.ts";
import { verifyAudit } from "../../../src/core/response/audit-verify.ts";
import { crashStorage, entry, readLinesOf, tempHome } from "./audit-helpers.ts";

let t: ReturnType<typeof tempHome>;
beforeEach(() => {
  t = tempHome();
});
afterEach(() => t.cleanup());

const MAX_FILE = 4_000;
const live = () => join(t.dir, "work.jsonl");
const headSeq = () => JSON.parse(readFileSync(join(t.dir, "work.head"), "utf8")).seq as number;
const lastSeqOf = (file: string) => JSON.parse(readLinesOf(join(t.dir, file)).at(-1) ?? "{}").seq as number;

async function until(condition: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await Bun.sleep(5);
  }
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms);
    }),
  ]);
}

/** Appends until at least one more record fits before the live file rotates, and no more than a few. */
async function fillToOneShort(log: AuditLog, next: () => number): Promise<void> {
  await log.append(entry(next()));
  const line = statSync(live()).size;
  while (statSync(live()).size + 2 * line + 20 <= MAX_FILE) await log.append(entry(next()));
}

/**
 * A log with grouped commits on the fake, filled to just short of a rotation with everything committed;
 * `next` is the number of the next record.
 */
async function nearRotation(storage: ReturnType<typeof crashStorage>) {
  const log = new AuditLog(t.home, { storage: storage.storage, syncIntervalMs: 5, maxFileBytes: MAX_FILE });
  let next = 1;
  await fillToOneShort(log, () => next++);
  await log.flush();
  await until(() => headSeq() === next - 1);
  expect(storage.renames).toEqual([]);
  return { log, next };
}

/** Appends until the log has rotated once, then `extra` more; every append must resolve quickly. */
async function rotateOnce(log: AuditLog, storage: ReturnType<typeof crashStorage>, from: number, extra: number) {
  let next = from;
  while (storage.renames.length === 0) await within(log.append(entry(next++)), 2_000, `record ${next - 1}`);
  for (let i = 0; i < extra; i++) await within(log.append(entry(next++)), 2_000, `record ${next - 1}`);
  return next;
}

/**
 * A rotation whose rotated file's fdatasync never ends, `extra` records written into the new live file,
 * then the machine crashes (`crash` says what the kernel wrote back anyway).
 */
async function crashBeforeRotatedFileIsDurable(extra: number, crash: { keep?: string[]; torn?: number } = {}) {
  const storage = crashStorage();
  const { log, next } = await nearRotation(storage);
  storage.hold("sync");
  const end = await rotateOnce(log, storage, next, extra);
  storage.crash(crash);
  return { next, end };
}

async function reopenAndVerify(records: number) {
  const again = new AuditLog(t.home, { syncIntervalMs: 5, maxFileBytes: MAX_FILE });
  expect(await again.openLog("work")).toEqual([]);
  const last = (await verifyAudit(t.home, "work"))[0]?.records ?? 0;
  for (let i = 0; i < 5; i++) await again.append(entry(1000 + i));
  await again.close();
  const [work] = await verifyAudit(t.home, "work");
  expect(work?.problems).toEqual([]);
  expect(work?.records).toBe(last + 5);
  expect(last).toBeGreaterThanOrEqual(records);
  return readLinesOf(join(t.dir, "_core.jsonl")).map((l) => JSON.parse(l).detail?.event as string | undefined);
}

describe("AuditLog: rotation off the calls' path", () => {
  test("a record written during a rotation does not wait for the rotated file's commit", async () => {
    const storage = crashStorage();
    const { log, next } = await nearRotation(storage);
    const committed = next - 1;
    // The file that will be rotated: its fdatasync does not end until released; the new live file's is free.
    const before = storage.opened;
    storage.hold("sync", (h) => h.index < before);
    const end = await rotateOnce(log, storage, next, 6);
    const [rotated] = readdirSync(t.dir).filter((f) => /^work\.\d+\.jsonl$/.test(f));
    expect(rotated).toBe("work.1.jsonl");
    expect(lastSeqOf("work.jsonl")).toBe(end - 1);
    await Bun.sleep(50);
    // No head names a record past what was durable: not the rotated file's unsynced tail, nor the new file.
    expect(headSeq()).toBe(committed);
    storage.release("sync");
    await log.close();
    expect(headSeq()).toBe(end - 1);
    const [work] = await verifyAudit(t.home, "work");
    expect(work).toMatchObject({ ok: true, records: end - 1 });
  });

  test("grouped commits on the real storage rotate, verify, and keep the head on the last record", async () => {
    const log = new AuditLog(t.home, { syncIntervalMs: 5, maxFileBytes: 2_000 });
    for (let i = 1; i <= 80; i++) await log.append(entry(i));
    await log.close();
    expect(readdirSync(t.dir).filter((f) => /^work\.\d+\.jsonl$/.test(f)).length).toBeGreaterThan(5);
    expect(headSeq()).toBe(80);
    expect((await verifyAudit(t.home, "work"))[0]).toMatchObject({ ok: true, records: 80 });
  });

  test("a failed commit of the rotated file enters the failed state; recovery makes that file durable", async () => {
    const storage = crashStorage();
    const log = new AuditLog(t.home, {
      storage: storage.storage,
      syncIntervalMs: 5,
      maxFileBytes: MAX_FILE,
      retryAfterMs: 0,
    });
    let next = 1;
    await fillToOneShort(log, () => next++);
    await log.flush();
    await until(() => headSeq() === next - 1);
    // The file about to be rotated: its commits wait until it is rotated, then fail.
    const before = storage.opened;
    storage.hold("sync", (h) => h.index < before);
    storage.failing.add("sync");
    while (storage.renames.length === 0) await log.append(entry(next++));
    storage.release("sync");
    // The rotated file's commit fails: the log refuses records from then on.
    let refused: unknown = null;
    await until(() => {
      if (refused === null)
        log.append(entry(next)).then(
          () => next++,
          (e) => (refused = e),
        );
      return refused !== null;
    });
    expect(String(refused)).toContain("could not");
    storage.failing.delete("sync");
    storage.synced.length = 0;
    await log.append(entry(next++));
    expect(storage.synced).toContain(join(t.dir, "work.1.jsonl"));
    await log.close();
    expect((await verifyAudit(t.home, "work"))[0]).toMatchObject({ ok: true, records: next - 1 });
    const events = readLinesOf(join(t.dir, "_core.jsonl")).map((l) => JSON.parse(l).detail?.event);
    expect(events).toContain("audit recovered");
  });
});

describe("AuditLog: a crash at each step of a rotation reopens to a verifiable chain", () => {
  test("after the rename, before the new live file is open: the rotated file's unsynced tail is lost", async () => {
    const storage = crashStorage();
    const { log, next } = await nearRotation(storage);
    storage.hold("sync");
    storage.hold("open", (h) => h.path === live());
    void rotateOnce(log, storage, next, 0).catch(() => undefined);
    while (storage.renames.length === 0) await Bun.sleep(5);
    storage.crash({ torn: 40 });
    expect(existsSync(live())).toBe(false);
    const events = await reopenAndVerify(next - 1);
    expect(events).toContain("torn last line removed");
  });

  test("records in the new file, the rotated file's tail lost: the new file is moved aside, the chain goes on", async () => {
    // The kernel wrote the new file back on its own; the rotated file's last records never reached the disk.
    const { next, end } = await crashBeforeRotatedFileIsDurable(3, { keep: ["work.jsonl"], torn: 40 });
    const moved = readLinesOf(live());
    expect(JSON.parse(moved.at(-1) ?? "{}").seq).toBe(end - 1);
    const events = await reopenAndVerify(next - 1);
    expect(events).toContain("audit records lost in a crash during rotation");
    expect(events).toContain("torn last line removed");
    expect(readLinesOf(join(t.dir, "work.jsonl.unchained-1"))).toEqual(moved);
  });

  test("both the rotated file and the new one end in a torn line", async () => {
    const { next } = await crashBeforeRotatedFileIsDurable(2, { torn: 40 });
    expect(readFileSync(live()).length).toBe(40);
    const events = await reopenAndVerify(next - 1);
    expect(events).toContain("audit records lost in a crash during rotation");
  });

  test("the rotated file durable, its head not yet replaced: the log is ahead of its head", async () => {
    const storage = crashStorage();
    const { log, next } = await nearRotation(storage);
    storage.hold("head");
    const before = storage.opened;
    storage.hold("sync", (h) => h.index >= before);
    const end = await rotateOnce(log, storage, next, 2);
    await until(() => storage.synced.includes(join(t.dir, "work.1.jsonl")));
    storage.crash();
    expect(statSync(live()).size).toBe(0);
    const events = await reopenAndVerify(lastSeqOf("work.1.jsonl"));
    expect(lastSeqOf("work.1.jsonl")).toBeLessThan(end - 1);
    expect(events).toContain("audit log ahead of its head");
  });

  test("the process killed while the rotated file was being made durable (nothing lost): the chain is whole", async () => {
    const { end } = await crashBeforeRotatedFileIsDurable(3, { keep: ["work.jsonl", "work.1.jsonl"] });
    const events = await reopenAndVerify(end - 1);
    expect(events).not.toContain("audit records lost in a crash during rotation");
  });
});
