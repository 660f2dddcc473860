/**
 * The audit's commit thread can end without answering (it is a Worker like any other): the commits it
 * held must fail, so the log fails closed and its close does not wait forever, and the next commit must
 * get a thread that answers.
 */
import { expect, test } from "bun:test";
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AuditSyncer } from "../../../src/core/response/audit-syncer.ts";

test("a commit thread that ends without answering fails its waiting commit; a new thread takes the next", async () => {
  const dir = mkdtempSync(join(tmpdir(), "cpsy-"));
  try {
    // Ends on its first message, answers the ones after it on a new thread (a marker file says which).
    const script = join(dir, "dying-worker.ts");
    writeFileSync(
      script,
      `import { existsSync, writeFileSync } from "node:fs";
declare const self: Worker;
const marker = ${JSON.stringify(join(dir, "died"))};
self.onmessage = (event) => {
  if (!existsSync(marker)) { writeFileSync(marker, ""); process.exit(7); }
  self.postMessage({ id: event.data.id, ok: true });
};
`,
    );
    const fd = openSync(join(dir, "log"), "a");
    try {
      const syncer = new AuditSyncer(new URL(`file://${script}`).href);
      const first = await syncer.commit(fd, join(dir, "head"), "x").then(
        () => "answered",
        (error: Error) => error.message,
      );
      expect(first).toContain("the audit commit thread ended");
      await syncer.commit(fd, join(dir, "head"), "y");
    } finally {
      closeSync(fd);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 30_000);

test("a commit thread that ends holding a quiet commit reports it failed (nothing else would)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "cpsy-"));
  try {
    const script = join(dir, "dying-worker.ts");
    writeFileSync(script, "declare const self: Worker;\nself.onmessage = () => process.exit(7);\n");
    const fd = openSync(join(dir, "log"), "a");
    try {
      const syncer = new AuditSyncer(new URL(`file://${script}`).href);
      const failed = new Promise<Error>((resolve) => {
        const completed = syncer.commitQuietly(fd, join(dir, "head"), "x", resolve);
        expect(completed()).toBe(false);
      });
      expect((await failed).message).toContain("the audit commit thread ended");
    } finally {
      closeSync(fd);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 30_000);
