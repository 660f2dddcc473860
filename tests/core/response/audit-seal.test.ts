/**
 * The audit writer seals each record with text it builds field by field (no generic canonical pass):
 * its hash must be exactly the one `audit verify` recomputes from the line, and its line exactly
 * `JSON.stringify` of the record in file order.
 */
import { describe, expect, test } from "bun:test";
import {
  type AuditRecord,
  canonicalJson,
  GENESIS_HASH,
  recordHash,
  sealRecord,
  type UnsealedRecord,
} from "../../../src/core/response/audit-record.ts";

/** The file order the writer has always used: seq first, prev and hash last. */
function fileOrder(r: AuditRecord): AuditRecord {
  const out = {
    seq: r.seq,
    ts: r.ts,
    group: r.group,
    session: r.session,
    kind: r.kind,
    topic: r.topic,
    correlation: r.correlation,
    outcome: r.outcome,
  } as AuditRecord;
  if (r.stage !== undefined) out.stage = r.stage;
  if (r.code !== undefined) out.code = r.code;
  if (r.detail !== undefined) out.detail = r.detail;
  out.prev = r.prev;
  out.hash = r.hash;
  return out;
}

const base: UnsealedRecord = {
  ts: "2026-12-02T03:04:05.678Z",
  group: "work",
  session: "3f1c2a9e-0000-4000-8000-000000000001",
  kind: "routed",
  topic: "tool.invoke.hello.echo",
  correlation: "6f1c2a9e-0000-4000-8000-000000012345",
  outcome: "ok",
};

const awkward = [
  'quote " and backslash \\',
  "control \u0000\u0001\u001f and tab\t newline\n",
  "non-ASCII: café, 東京, emoji 🦀",
  "lone surrogates \ud800 and \udfff",
  "",
  "…[truncated]",
];

const cases: [string, UnsealedRecord][] = [
  ["a routed call", base],
  ["an intent", { ...base, kind: "intent", outcome: "info", stage: 6 }],
  ["nulls (the core log)", { ...base, group: null, session: null, topic: null, correlation: null }],
  [
    "a rejection with code and detail",
    { ...base, kind: "rejected", outcome: "rejected", stage: 4, code: "RATE_LIMITED", detail: { reason: "x" } },
  ],
  [
    "a detail with nested, numeric-like and unsorted keys",
    {
      ...base,
      kind: "event",
      outcome: "info",
      detail: { z: [3, { b: 1, a: null }], "10": "ten", "2": "two", a: { y: true, x: -0, w: 1.5e-7 } },
    },
  ],
  ...awkward.map((text, i): [string, UnsealedRecord] => [
    `awkward text ${i}`,
    { ...base, session: text, topic: text, correlation: text, code: text, detail: { [text]: text } },
  ]),
  ...awkward.map((text, i): [string, UnsealedRecord] => [
    `awkward text ${i} without a detail`,
    { ...base, session: text, topic: text, correlation: text, code: text, stage: 3 },
  ]),
];

describe("sealRecord", () => {
  for (const [name, fields] of cases) {
    test(`${name}: hash as verify recomputes it, line as JSON.stringify in file order`, () => {
      const prev = "ab".repeat(32);
      const { record, line } = sealRecord(fields, 42, prev);
      expect(record.hash).toBe(recordHash(record));
      expect(record.hash).toBe(
        new Bun.CryptoHasher("sha256")
          .update(prev)
          .update(canonicalJson({ ...record, hash: undefined }))
          .digest("hex"),
      );
      expect(line).toBe(JSON.stringify(fileOrder(record)));
      const parsed = JSON.parse(line) as AuditRecord;
      expect(recordHash(parsed)).toBe(parsed.hash);
      expect(Object.keys(parsed)).toEqual(Object.keys(fileOrder(record)));
    });
  }

  test("the detail's canonical text, when given, is what the hash covers", () => {
    const fields = { ...base, detail: { b: 2, a: 1 } };
    const given = sealRecord(fields, 1, GENESIS_HASH, canonicalJson(fields.detail));
    expect(given.record.hash).toBe(sealRecord(fields, 1, GENESIS_HASH).record.hash);
    expect(given.record.hash).toBe(recordHash(given.record));
  });

  test.each([
    ["with a detail", { detail: { reason: "r" } }],
    ["without", {}],
  ])("every field is covered, %s: changing any one changes the hash", (_name, extra) => {
    const full: UnsealedRecord = { ...base, stage: 6, code: "HANDLER_ERROR", ...extra };
    const sealed = sealRecord(full, 7, GENESIS_HASH).record.hash;
    const changed: UnsealedRecord[] = [
      { ...full, ts: "2026-12-02T03:04:05.679Z" },
      { ...full, group: "home" },
      { ...full, session: "other" },
      { ...full, kind: "error" },
      { ...full, topic: "tool.invoke.other" },
      { ...full, correlation: "other" },
      { ...full, outcome: "error" },
      { ...full, stage: 5 },
      { ...full, code: "OTHER" },
      { ...full, detail: { reason: "s" } },
      { ...full, stage: undefined },
      { ...full, code: undefined },
    ];
    for (const c of changed) expect(sealRecord(c, 7, GENESIS_HASH).record.hash).not.toBe(sealed);
    expect(sealRecord(full, 8, GENESIS_HASH).record.hash).not.toBe(sealed);
    expect(sealRecord(full, 7, "1".repeat(64)).record.hash).not.toBe(sealed);
  });
});
