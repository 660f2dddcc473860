import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { generateKeyPairSync } from "node:crypto";
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  CheckpointWriter,
  checkpointPublicKey,
  checkpointsFile,
  exportCheckpoints,
  publicKeyText,
  readCheckpoints,
} from "../../../src/core/response/audit-checkpoint.ts";
import { tempHome } from "./audit-helpers.ts";

let t: ReturnType<typeof tempHome>;
beforeEach(() => {
  t = tempHome();
  mkdirSync(join(t.home, "data"), { recursive: true });
});
afterEach(() => t.cleanup());

const head = (seq: number) => ({ seq, hash: String(seq).padStart(64, "0") });
const lines = () => readFileSync(checkpointsFile(t.home), "utf8").split("\n").filter(Boolean);

describe("signed checkpoints", () => {
  test("the key is created once in the credentials store, 0600, and never beside the audit log", async () => {
    expect(checkpointPublicKey(t.home)).toBeNull();
    const writer = new CheckpointWriter(t.home);
    await writer.write({ work: head(3) });
    const again = new CheckpointWriter(t.home);
    expect(await again.count()).toBe(1);
    const key = join(t.home, "credentials", "audit-checkpoint-key");
    expect(readFileSync(key, "utf8")).toContain("PRIVATE KEY");
    expect(readFileSync(checkpointsFile(t.home), "utf8")).not.toContain("PRIVATE KEY");
  });

  test("nothing changed: no checkpoint; heads only move forward and vanished logs stay named", async () => {
    const writer = new CheckpointWriter(t.home);
    expect((await writer.write({ work: head(3), home: head(1) }))?.n).toBe(1);
    expect(await writer.write({ work: head(3) })).toBeNull();
    expect(await writer.write({ work: head(2) })).toBeNull();
    const c = await writer.write({ work: head(5) });
    expect(c?.heads).toEqual({ work: head(5), home: head(1) });
    const read = await readCheckpoints(checkpointsFile(t.home), checkpointPublicKey(t.home));
    expect(read.problems).toEqual([]);
    expect(read.count).toBe(2);
    expect(read.pinned.get("home")).toMatchObject({ seq: 1, source: "signed checkpoint #2" });
  });

  test("an edited, removed or forged checkpoint is reported; a torn last line is not", async () => {
    const writer = new CheckpointWriter(t.home);
    for (let i = 1; i <= 3; i++) await writer.write({ work: head(i) });
    const [one, two, three] = lines();
    const edited = (three ?? "").replace(`"seq":3`, `"seq":9`);
    writeFileSync(checkpointsFile(t.home), `${one}\n${edited}\nnot json\n`);
    appendFileSync(checkpointsFile(t.home), '{"n":4,"ts"');
    const key = checkpointPublicKey(t.home);
    const read = await readCheckpoints(checkpointsFile(t.home), key);
    expect(read.problems.map((p) => [p.line, p.detail])).toEqual([
      [2, "the signature does not match (forged or edited)"],
      [3, "the line is not a checkpoint"],
    ]);
    writeFileSync(checkpointsFile(t.home), `${one}\n${three}\n`);
    const gap = await readCheckpoints(checkpointsFile(t.home), key);
    expect(gap.problems).toEqual([{ line: 2, detail: "checkpoint 3 does not follow checkpoint 1 (one was removed)" }]);
    expect(two).toBeDefined();
    const none = await readCheckpoints(checkpointsFile(t.home), null);
    expect(none.problems[0]?.detail).toBe("no key to check the signature");
  });

  test("the export starts with the public key and checks on its own; another key's export is refused", async () => {
    expect(await exportCheckpoints(t.home)).toEqual([]);
    const writer = new CheckpointWriter(t.home);
    await writer.write({ work: head(4) });
    const exported = await exportCheckpoints(t.home);
    expect(exported).toHaveLength(2);
    const file = join(t.home, "copy.jsonl");
    writeFileSync(file, `${exported.join("\n")}\n`);
    const alone = await readCheckpoints(file, null);
    expect(alone.problems).toEqual([]);
    expect(alone.pinned.get("work")?.seq).toBe(4);

    const other = generateKeyPairSync("ed25519").publicKey;
    const header = JSON.stringify({ carapace_audit_checkpoints: 1, public_key: publicKeyText(other) });
    writeFileSync(file, `${header}\n${exported.slice(1).join("\n")}\n`);
    const mismatch = await readCheckpoints(file, checkpointPublicKey(t.home));
    expect(mismatch.problems).toContainEqual({
      line: 1,
      detail: "the file was signed with another key than this home's",
    });
    expect(await readCheckpoints(join(t.home, "missing.jsonl"), null)).toMatchObject({ count: 0, problems: [] });
  });
});
