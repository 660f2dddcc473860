import type { AuditRecordView } from "../../plugins/sdk/types.ts";
import { GROUP_NAME } from "../../protocol/group-name.ts";

/**
 * One line of the audit log (docs/ARCHITECTURE.md, "The life of a call").
 * `hash = sha256(prev + canonicalJson(record without hash))`; `prev` is the previous record's hash,
 * across rotated files, so a deleted, edited or reordered line breaks the chain.
 */
export type AuditKind =
  | "routed"
  | "rejected"
  | "sanitized"
  | "error"
  | "normalized"
  | "session"
  | "confirmation"
  | "dropped"
  | "event"
  | "egress"
  | "intent"
  | "late";

export type AuditOutcome = "ok" | "rejected" | "error" | "info";

/** What a caller supplies; the log adds seq, ts, prev and hash. */
export interface AuditEntry {
  kind: AuditKind;
  outcome: AuditOutcome;
  /** Null or absent: the record goes to the core log (`_core.jsonl`). */
  group?: string | null;
  session?: string | null;
  topic?: string | null;
  correlation?: string | null;
  stage?: number;
  code?: string;
  /** Free-form, JSON-able; sanitized and size-capped before writing. Never put values of secrets here. */
  detail?: unknown;
}

export interface AuditRecord {
  seq: number;
  ts: string;
  group: string | null;
  session: string | null;
  kind: AuditKind;
  topic: string | null;
  correlation: string | null;
  outcome: AuditOutcome;
  stage?: number;
  code?: string;
  detail?: unknown;
  prev: string;
  hash: string;
}

export const GENESIS_HASH = "0".repeat(64);
export const CORE_LOG = "_core";

/**
 * A group's log name: a group name (`[a-z0-9][a-z0-9_-]{0,31}`) or `_core`. Group names cannot start
 * with `_`, so no group can alias the core log, and no name can contain a path separator or dot.
 */
export function isLogName(name: string): boolean {
  return name === CORE_LOG || GROUP_NAME.test(name);
}

export function logNameOf(group: string | null | undefined): string {
  return group === null || group === undefined ? CORE_LOG : group;
}

/** JSON with object keys sorted at every level and no whitespace: the hashed form of a record. */
export function canonicalJson(value: unknown): string {
  return canonical(value, null);
}

// Keys repeat (a record's fields, an envelope's): their quoted form is kept, up to a bound.
const quotedKeys = new Map<string, string>();
const MAX_QUOTED_KEYS = 4096;
function quoted(key: string): string {
  let q = quotedKeys.get(key);
  if (q === undefined) {
    q = JSON.stringify(key);
    if (quotedKeys.size < MAX_QUOTED_KEYS && key.length <= 64) quotedKeys.set(key, q);
  }
  return q;
}

// One pass with string building: this runs for every audit record (its hash) on every call.
function canonical(value: unknown, skipKey: string | null): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) {
    let out = "[";
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ",";
      const v = value[i];
      out += v === undefined ? "null" : canonical(v, null);
    }
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  let out = "{";
  let first = true;
  for (const k of keys) {
    const v = record[k];
    if (v === undefined || k === skipKey) continue;
    out += `${first ? "" : ","}${quoted(k)}:${canonical(v, null)}`;
    first = false;
  }
  return `${out}}`;
}

export function recordHash(record: Omit<AuditRecord, "hash"> & { hash?: string }): string {
  return chainHash(record.prev, canonical(record, "hash"));
}

/** sha256(prev + canonical record), hex. One-shot: a fresh streaming hasher per record cost twice as much. */
function chainHash(prev: string, canonicalText: string): string {
  return Bun.SHA256.hash(prev + canonicalText, "hex") as string;
}

/** What a record holds before it joins the chain (the log adds seq, prev and hash). */
export type UnsealedRecord = Omit<AuditRecord, "seq" | "prev" | "hash">;

/**
 * A record joined to the chain: its hash and its line, both built from one set of field texts. The
 * canonical text is byte for byte what `canonicalJson` gives for the record without its hash (the fields
 * written in sorted key order); the line is `JSON.stringify` of the record in file order (seq first,
 * prev and hash last). `detailCanonical` is the detail's canonical JSON when the caller has it already.
 */
export function sealRecord(
  fields: UnsealedRecord,
  seq: number,
  prev: string,
  detailCanonical?: string,
): { record: AuditRecord; line: string } {
  if (fields.detail === undefined && plainFields(fields)) return sealPlain(fields, seq, prev);
  const ts = jsonText(fields.ts);
  const group = jsonText(fields.group);
  const session = jsonText(fields.session);
  const kind = jsonText(fields.kind);
  const topic = jsonText(fields.topic);
  const correlation = jsonText(fields.correlation);
  const outcome = jsonText(fields.outcome);
  const stage = jsonText(fields.stage);
  const code = jsonText(fields.code);
  const prevText = jsonText(prev);
  const detail = fields.detail === undefined ? undefined : (detailCanonical ?? canonical(fields.detail, null));
  const sorted =
    member("code", code) +
    member("correlation", correlation) +
    member("detail", detail) +
    member("group", group) +
    member("kind", kind) +
    member("outcome", outcome) +
    member("prev", prevText) +
    member("seq", jsonText(seq)) +
    member("session", session) +
    member("stage", stage) +
    member("topic", topic) +
    member("ts", ts);
  const hash = chainHash(prev, `{${sorted.slice(1)}}`);
  const record = recordFields(fields, seq);
  if (fields.detail !== undefined) record.detail = fields.detail;
  record.prev = prev;
  record.hash = hash;
  const line =
    member("seq", jsonText(seq)) +
    member("ts", ts) +
    member("group", group) +
    member("session", session) +
    member("kind", kind) +
    member("topic", topic) +
    member("correlation", correlation) +
    member("outcome", outcome) +
    member("stage", stage) +
    member("code", code) +
    member("detail", fields.detail === undefined ? undefined : JSON.stringify(fields.detail)) +
    member("prev", prevText) +
    member("hash", `"${hash}"`);
  return { record, line: `{${line.slice(1)}}` };
}

/** No detail and only primitive values: JSON.stringify of objects built in each order is the whole work. */
function sealPlain(fields: UnsealedRecord, seq: number, prev: string): { record: AuditRecord; line: string } {
  const sorted = JSON.stringify({
    code: fields.code,
    correlation: fields.correlation,
    group: fields.group,
    kind: fields.kind,
    outcome: fields.outcome,
    prev,
    seq,
    session: fields.session,
    stage: fields.stage,
    topic: fields.topic,
    ts: fields.ts,
  });
  const record = recordFields(fields, seq);
  record.prev = prev;
  record.hash = chainHash(prev, sorted);
  return { record, line: JSON.stringify(record) };
}

/** The record's fields up to `code`, in the order its line is written (detail, prev and hash follow). */
function recordFields(fields: UnsealedRecord, seq: number): AuditRecord {
  const record = {
    seq,
    ts: fields.ts,
    group: fields.group,
    session: fields.session,
    kind: fields.kind,
    topic: fields.topic,
    correlation: fields.correlation,
    outcome: fields.outcome,
  } as AuditRecord;
  if (fields.stage !== undefined) record.stage = fields.stage;
  if (fields.code !== undefined) record.code = fields.code;
  return record;
}

/** Whether every field is a primitive (its JSON text the same in any key order). */
function plainFields(fields: UnsealedRecord): boolean {
  return (
    primitive(fields.ts) &&
    primitive(fields.group) &&
    primitive(fields.session) &&
    primitive(fields.kind) &&
    primitive(fields.topic) &&
    primitive(fields.correlation) &&
    primitive(fields.outcome) &&
    primitive(fields.stage) &&
    primitive(fields.code)
  );
}

function primitive(value: unknown): boolean {
  return value === null || value === undefined || typeof value === "string" || typeof value === "number";
}

/** `,"key":value`, or nothing for an absent value (JSON.stringify and canonicalJson both leave it out). */
function member(key: string, value: string | undefined): string {
  return value === undefined ? "" : `,"${key}":${value}`;
}

// What JSON.stringify escapes in a string: quote, backslash, control characters, lone surrogates.
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what JSON escapes.
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** JSON text of one field value, as JSON.stringify writes it; undefined stays undefined (the field is left out). */
function jsonText(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "string") return NEEDS_ESCAPE.test(value) ? JSON.stringify(value) : `"${value}"`;
  if (typeof value === "number") return JSON.stringify(value);
  return canonical(value, null);
}

/** Parses one log line; null when it is not a structurally valid record. */
export function parseRecordLine(line: string): AuditRecord | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
  const r = value as Record<string, unknown>;
  if (!Number.isSafeInteger(r.seq) || (r.seq as number) < 1) return null;
  if (typeof r.prev !== "string" || typeof r.hash !== "string" || typeof r.kind !== "string") return null;
  if (typeof r.ts !== "string" || typeof r.outcome !== "string") return null;
  return value as AuditRecord;
}

/** The shape plugins see through `CoreServices.getAuditLog` (src/plugins/sdk/types.ts). */
export function toAuditRecordView(record: AuditRecord): AuditRecordView {
  const view: AuditRecordView = {
    seq: record.seq,
    timestamp: record.ts,
    kind: record.kind,
    correlation: record.correlation,
    outcome: record.outcome,
  };
  if (record.topic !== null) view.topic = record.topic;
  if (record.stage !== undefined) view.stage = record.stage;
  if (record.code !== undefined) view.code = record.code;
  return view;
}
