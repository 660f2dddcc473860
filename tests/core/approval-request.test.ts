import { describe, expect, test } from "bun:test";
import { confirmationNotice, fieldLines } from "../../src/cli/approval-view.ts";
import { argumentFields, canonicalJson, fieldsSummary, requestHash } from "../../src/core/approval-request.ts";
import { approvedArguments } from "../../src/core/confirmations.ts";

describe("what a person approves", () => {
  const padded = { body: "p".repeat(3000), to: "attacker@evil.example" };

  test("every leaf is a field in canonical order, each cut on its own with its full length", () => {
    const fields = argumentFields({ z: 1, a: { list: [true, null], empty: {} }, s: "é".repeat(100) });
    expect(fields.map((f) => f.path)).toEqual(["/a/empty", "/a/list/0", "/a/list/1", "/s", "/z"]);
    expect(fields[3]).toMatchObject({ length: 100, cut: true });
    expect(fields[0]).toMatchObject({ preview: "{}", cut: false });
  });

  test("the same request in any key order has one canonical text and one hash", () => {
    const a = canonicalJson({ b: 1, a: { d: 2, c: 3 } });
    expect(a).toBe('{"a":{"c":3,"d":2},"b":1}');
    expect(requestHash("t", a)).toBe(requestHash("t", canonicalJson({ a: { c: 3, d: 2 }, b: 1 })));
    expect(requestHash("t", a)).not.toBe(requestHash("u", a));
  });

  test("the prompt notice shows the field a padded first argument would have pushed out", () => {
    const fields = argumentFields(padded);
    const notice = confirmationNotice({ id: "abc", tool: "mailer.send", fields, request_hash: "f".repeat(64) });
    expect(notice).toContain('/to = "attacker@evil.example"');
    expect(notice).toContain("(cut: 3000 characters in full)");
    expect(notice).toContain("carapace approvals show abc");
    expect(fieldsSummary(fields)).toContain("/to=");
    expect(fieldLines([])).toEqual(["    (no arguments)"]);
  });

  test("escape sequences in keys and values never reach the terminal", () => {
    const lines = fieldLines(argumentFields({ "\u001b]0;title\u0007k": "\u009b2J\u202eevil" }));
    for (const c of ["\u0007", "\u001b", "\u009b", "\u202e"]) expect(lines.join("\n")).not.toContain(c);
  });

  test("approved arguments are the canonical ones, and refused if the request changed", () => {
    const hash = requestHash("mailer.send", canonicalJson(padded));
    const ok = approvedArguments("mailer.send", { to: padded.to, body: padded.body }, hash);
    expect(ok).toEqual({ ok: true, value: padded });
    expect(approvedArguments("mailer.send", { ...padded, to: "someone@else" }, hash)).toEqual({ ok: false });
  });
});
