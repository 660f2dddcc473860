/**
 * The commit thread's own code, run in this thread (Bun's coverage does not see Worker threads; the real
 * Worker is driven by audit-syncer.test.ts and every audit-log test): the log is made durable before the
 * head is replaced, a failure answers with its errno code, and no temporary head is left behind.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CommitAnswer, CommitRequest } from "../../../src/core/response/audit-syncer-worker.ts";

const answers: CommitAnswer[] = [];
const scope = globalThis as unknown as {
  postMessage: (message: unknown) => void;
  onmessage: ((event: { data: CommitRequest }) => void) | null;
};
const realPostMessage = scope.postMessage;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "cpsw-"));
  scope.postMessage = (message) => answers.push(message as CommitAnswer);
  await import("../../../src/core/response/audit-syncer-worker.ts");
});
afterAll(() => {
  scope.postMessage = realPostMessage;
  scope.onmessage = null;
  rmSync(dir, { recursive: true, force: true });
});

function commit(request: CommitRequest): CommitAnswer {
  answers.length = 0;
  scope.onmessage?.({ data: request });
  expect(answers).toHaveLength(1);
  return answers[0] as CommitAnswer;
}

test("a commit replaces the head with the given text and leaves no temporary file", () => {
  const fd = openSync(join(dir, "log.jsonl"), "a");
  try {
    writeSync(fd, "{}\n");
    const head = join(dir, "log.head");
    expect(commit({ id: 1, fd, head, text: "first" })).toEqual({ id: 1, ok: true });
    expect(commit({ id: 2, fd, head, text: "second" })).toEqual({ id: 2, ok: true });
    expect(readFileSync(head, "utf8")).toBe("second");
    expect(readdirSync(dir).sort()).toEqual(["log.head", "log.jsonl"]);
  } finally {
    closeSync(fd);
  }
});

test("a log that cannot be made durable answers its errno code and the head is not touched", () => {
  const head = join(dir, "never.head");
  const answer = commit({ id: 3, fd: 1_000_000, head, text: "x" });
  expect(answer).toMatchObject({ id: 3, ok: false, code: "EBADF" });
  expect(existsSync(head)).toBe(false);
});

test("a head that cannot be written answers its errno code and leaves no temporary file", () => {
  const fd = openSync(join(dir, "other.jsonl"), "a");
  try {
    const head = join(dir, "missing-dir", "log.head");
    expect(commit({ id: 4, fd, head, text: "x" })).toMatchObject({ id: 4, ok: false, code: "ENOENT" });
    expect(existsSync(`${head}.tmp`)).toBe(false);
  } finally {
    closeSync(fd);
  }
});

test("a quiet commit answers nothing when it succeeds and publishes its id; a failed one answers with its head", () => {
  const fd = openSync(join(dir, "quiet.jsonl"), "a");
  try {
    const head = join(dir, "quiet.head");
    const done = new Int32Array(new SharedArrayBuffer(4));
    answers.length = 0;
    scope.onmessage?.({ data: { id: 5, fd, head, text: "q", done, quiet: true } });
    expect(answers).toEqual([]);
    expect(Atomics.load(done, 0)).toBe(5);
    expect(readFileSync(head, "utf8")).toBe("q");
    const bad = join(dir, "missing-dir", "quiet.head");
    scope.onmessage?.({ data: { id: 6, fd, head: bad, text: "r", done, quiet: true } });
    expect(answers).toEqual([expect.objectContaining({ id: 6, ok: false, head: bad, code: "ENOENT" })]);
    expect(Atomics.load(done, 0)).toBe(5);
    expect(commit({ id: 7, settle: true })).toEqual({ id: 7, ok: true });
  } finally {
    closeSync(fd);
  }
});
