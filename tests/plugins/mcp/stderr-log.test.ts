/**
 * A stdio MCP server's stderr as the bridge logs it: whole lines, redacted before they are cut, and a
 * flood bounded per minute (the clock is passed in, so nothing here depends on timing).
 */
import { describe, expect, test } from "bun:test";
import { MAX_LINE_CHARS, MAX_LINES_PER_MINUTE, stderrLines } from "../../../src/plugins/mcp/stderr-log.ts";

const SECRET = "sk-live-0123456789abcdef";

function reader(clock = { t: 0 }) {
  const logged: string[] = [];
  const feed = stderrLines(
    [SECRET],
    (l) => void logged.push(l),
    () => clock.t,
  );
  return { logged, write: (s: string) => feed(Buffer.from(s)), clock };
}

describe("an MCP server's stderr", () => {
  test("a credential split across two reads is redacted whole, no piece of it logged", () => {
    const r = reader();
    r.write(`token ${SECRET.slice(0, 9)}`);
    r.write(`${SECRET.slice(9)} ok\nnext`);
    r.write("\n");
    expect(r.logged).toEqual(["token [REDACTED] ok", "next"]);
  });

  test("a multi-byte character split across reads is decoded whole", () => {
    const logged: string[] = [];
    const feed = stderrLines([], (l) => void logged.push(l));
    const bytes = Buffer.from("é\n");
    feed(bytes.subarray(0, 1));
    feed(bytes.subarray(1));
    expect(logged).toEqual(["é"]);
  });

  test("an endless line is logged once, cut, with a credential at its edge still redacted", () => {
    const r = reader();
    r.write(`${"x".repeat(MAX_LINE_CHARS - 5)}${SECRET}`);
    for (let i = 0; i < 100; i++) r.write("y".repeat(1000));
    r.write("\nafter\n");
    expect(r.logged).toHaveLength(2);
    expect(r.logged[0]).toBe(`${"x".repeat(MAX_LINE_CHARS - 5)}[REDA`);
    expect(r.logged[1]).toBe("after");
  });

  test("a flood is cut at the minute's budget with one notice; the next minute logs again", () => {
    const r = reader();
    r.write("line\n".repeat(10_000));
    expect(r.logged).toHaveLength(MAX_LINES_PER_MINUTE + 1);
    expect(r.logged.at(-1)).toContain("not logged");
    r.clock.t = 60_000;
    r.write("later\n");
    expect(r.logged.at(-1)).toBe("later");
  });
});
