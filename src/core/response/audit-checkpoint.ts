import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from "node:crypto";
import { closeSync, existsSync, fsyncSync, openSync, writeSync } from "node:fs";
import { join } from "node:path";
import { readCredential, writeCredential } from "../../config/credentials.ts";
import { streamLines } from "./audit-read.ts";
import { canonicalJson, GENESIS_HASH } from "./audit-record.ts";
import type { PinnedHead } from "./audit-verify.ts";

/**
 * Signed checkpoints over the audit chain heads. The core signs the durable head of every log with an
 * Ed25519 key kept in the credentials store (outside the audit directory) at intervals and at shutdown,
 * and appends the checkpoint to `<home>/data/audit-checkpoints.jsonl`. Each checkpoint carries every
 * head it ever signed forward (a log that vanished stays named) and links to the previous line, so
 * `audit verify` needs only the last valid checkpoint per log to catch an edit, deletion or truncation at
 * or before it: rewriting the chain changes the signed hash, and forging a checkpoint needs the key.
 */

export const CHECKPOINT_KEY = "audit-checkpoint-key";

export interface Head {
  seq: number;
  hash: string;
}

export interface Checkpoint {
  n: number;
  ts: string;
  heads: Record<string, Head>;
  /** sha256 of the previous checkpoint's line (genesis for the first). */
  prev: string;
  /** Ed25519 signature (base64) over the canonical JSON of the fields above. */
  sig: string;
}

export function checkpointsFile(home: string): string {
  return join(home, "data", "audit-checkpoints.jsonl");
}

function signedBytes(c: Omit<Checkpoint, "sig">): Buffer {
  return Buffer.from(canonicalJson({ n: c.n, ts: c.ts, heads: c.heads, prev: c.prev }));
}

/** The signing key, created on first use (the core only). */
export function checkpointSigningKey(home: string): KeyObject {
  const stored = readCredential(home, CHECKPOINT_KEY);
  if (stored !== null) return createPrivateKey(stored);
  const { privateKey } = generateKeyPairSync("ed25519");
  writeCredential(home, CHECKPOINT_KEY, privateKey.export({ type: "pkcs8", format: "pem" }).toString());
  return privateKey;
}

/** The public key derived from the stored signing key, or null when there is none. */
export function checkpointPublicKey(home: string): KeyObject | null {
  const stored = readCredential(home, CHECKPOINT_KEY);
  return stored === null ? null : createPublicKey(createPrivateKey(stored));
}

export function publicKeyText(key: KeyObject): string {
  return key.export({ type: "spki", format: "pem" }).toString();
}

export interface CheckpointRead {
  /** Per log: the head of the last valid checkpoint that names it. */
  pinned: Map<string, PinnedHead>;
  count: number;
  last: Checkpoint | null;
  lastLineHash: string;
  problems: { line: number; detail: string }[];
}

/** First line of an exported file: the public key that checks the checkpoints after it. */
export interface ExportHeader {
  carapace_audit_checkpoints: 1;
  public_key: string;
}

/**
 * Reads and checks a checkpoints file (streamed): every signature and every link to the previous line.
 * An exported file starts with its public key; `key` (from the local signing key) takes precedence.
 */
export async function readCheckpoints(file: string, key: KeyObject | null): Promise<CheckpointRead> {
  const out: CheckpointRead = { pinned: new Map(), count: 0, last: null, lastLineHash: GENESIS_HASH, problems: [] };
  if (!existsSync(file)) return out;
  let checkKey = key;
  for await (const line of streamLines(file)) {
    if (line.torn) continue; // a checkpoint being appended, or cut short by a crash
    let c: Checkpoint;
    try {
      c = JSON.parse(line.text) as Checkpoint;
    } catch {
      out.problems.push({ line: line.line, detail: "the line is not a checkpoint" });
      continue;
    }
    if (line.line === 1 && typeof (c as unknown as ExportHeader).public_key === "string") {
      const exported = createPublicKey((c as unknown as ExportHeader).public_key);
      if (checkKey === null) checkKey = exported;
      else if (!checkKey.equals(exported))
        out.problems.push({ line: 1, detail: "the file was signed with another key than this home's" });
      continue;
    }
    const valid =
      checkKey !== null &&
      typeof c.sig === "string" &&
      verify(null, signedBytes(c), checkKey, Buffer.from(c.sig, "base64"));
    if (!valid) {
      out.problems.push({
        line: line.line,
        detail: checkKey === null ? "no key to check the signature" : "the signature does not match (forged or edited)",
      });
      continue;
    }
    if (c.prev !== out.lastLineHash || c.n !== out.count + 1) {
      out.problems.push({
        line: line.line,
        detail: `checkpoint ${c.n} does not follow checkpoint ${out.count} (one was removed)`,
      });
    }
    out.count = c.n;
    out.last = c;
    out.lastLineHash = createHash("sha256").update(line.text).digest("hex");
    for (const [log, head] of Object.entries(c.heads)) {
      out.pinned.set(log, { seq: head.seq, hash: head.hash, source: `signed checkpoint #${c.n}` });
    }
  }
  return out;
}

/** The export: a header with the public key, then every checkpoint line as written. */
export async function exportCheckpoints(home: string): Promise<string[]> {
  const key = checkpointPublicKey(home);
  if (key === null) return [];
  const header: ExportHeader = { carapace_audit_checkpoints: 1, public_key: publicKeyText(key) };
  const lines = [JSON.stringify(header)];
  const file = checkpointsFile(home);
  if (existsSync(file)) for await (const line of streamLines(file)) if (!line.torn) lines.push(line.text);
  return lines;
}

/** Appends checkpoints; the heads of every earlier checkpoint are carried forward. */
export class CheckpointWriter {
  private readonly key: KeyObject;
  private state: { n: number; lineHash: string; heads: Record<string, Head> } | null = null;

  constructor(private readonly home: string) {
    this.key = checkpointSigningKey(home);
  }

  private async load(): Promise<{ n: number; lineHash: string; heads: Record<string, Head> }> {
    if (this.state) return this.state;
    const read = await readCheckpoints(checkpointsFile(this.home), createPublicKey(this.key));
    const heads: Record<string, Head> = {};
    for (const [log, pin] of read.pinned) heads[log] = { seq: pin.seq, hash: pin.hash };
    this.state = { n: read.count, lineHash: read.lastLineHash, heads };
    return this.state;
  }

  /** How many checkpoints the file holds (after load). */
  async count(): Promise<number> {
    return (await this.load()).n;
  }

  /** Signs `current` (merged over what was signed before); returns the checkpoint, or null if nothing changed. */
  async write(current: Record<string, Head>, now = new Date()): Promise<Checkpoint | null> {
    const state = await this.load();
    const heads = { ...state.heads };
    let changed = state.n === 0;
    for (const [log, head] of Object.entries(current)) {
      const before = heads[log];
      // A head never moves back: a smaller seq than signed is a truncation that verify reports.
      if (before && head.seq <= before.seq) continue;
      heads[log] = head;
      changed = true;
    }
    if (!changed) return null;
    const body = { n: state.n + 1, ts: now.toISOString(), heads, prev: state.lineHash };
    const checkpoint: Checkpoint = { ...body, sig: sign(null, signedBytes(body), this.key).toString("base64") };
    const text = JSON.stringify(checkpoint);
    const fd = openSync(checkpointsFile(this.home), "a", 0o600);
    try {
      writeSync(fd, `${text}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.state = { n: body.n, lineHash: createHash("sha256").update(text).digest("hex"), heads };
    return checkpoint;
  }
}
