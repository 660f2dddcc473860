import { describe, expect, test } from "bun:test";
import { singleLine, stripTerminalEscapes, terminalSafeJson } from "../../../src/core/response/terminal-text.ts";

describe("terminal-safe text", () => {
  test("removes CSI, OSC and other escape sequences but keeps the text", () => {
    expect(stripTerminalEscapes("\x1b[31mred\x1b[0m plain")).toBe("red plain");
    expect(stripTerminalEscapes("a\x1b]0;evil title\x07b")).toBe("ab");
    expect(stripTerminalEscapes("a\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\b")).toBe("alinkb");
    expect(stripTerminalEscapes("x\x1b[2J\x1b[Hy")).toBe("xy");
    expect(stripTerminalEscapes("x\x9b31my")).toBe("xy");
    expect(stripTerminalEscapes("x\x1bcy")).toBe("xy");
  });

  test("removes control characters and bidi overrides, keeps tabs and newlines", () => {
    expect(stripTerminalEscapes("a\rb\x08c\x00d\x7fe\u202ef\u2066g\tline\nnext")).toBe("abcdefg\tline\nnext");
  });

  test("singleLine turns line breaks into spaces", () => {
    expect(singleLine("one\ntwo\r\nthree\u2028four")).toBe("one two three four");
  });

  test("ordinary text including non-Latin scripts is unchanged", () => {
    const text = "Grüße, 你好, مرحبا — task-123 ✓";
    expect(stripTerminalEscapes(text)).toBe(text);
  });

  test("JSON output escapes C1 and bidi controls as well as C0", () => {
    const json = terminalSafeJson({ t: "a\x1b[31mb\x9bc\u202ed" });
    expect(json).toBe('{"t":"a\\u001b[31mb\\u009bc\\u202ed"}');
    expect(JSON.parse(json)).toEqual({ t: "a\x1b[31mb\x9bc\u202ed" });
  });

  test("a long run of escape starters stays linear", () => {
    const out = stripTerminalEscapes("\x1b[".repeat(200_000) + "\x1b]".repeat(200_000));
    expect(out).toBe("");
  });
});
