import { expect, test } from "bun:test";
import { fitOneMessage, MESSAGE_LIMIT, splitMessage } from "../../../plugins/telegram/format.ts";

test("a long answer is split at paragraph, line or word boundaries, each part within Telegram's limit", () => {
  const paragraph = `${"word ".repeat(700).trim()}`;
  const text = [paragraph, paragraph, paragraph].join("\n\n");
  const parts = splitMessage(text);
  expect(parts.length).toBeGreaterThan(1);
  for (const p of parts) expect(p.length).toBeLessThanOrEqual(MESSAGE_LIMIT);
  expect(parts.join(" ").replace(/\s+/g, " ")).toBe(text.replace(/\s+/g, " "));
});

test("a text without boundaries is cut hard, never inside a surrogate pair", () => {
  const text = `${"a".repeat(4095)}😀${"b".repeat(10)}`;
  const parts = splitMessage(text);
  expect(parts[0]).toBe("a".repeat(4095));
  expect(parts[1]?.startsWith("😀")).toBe(true);
  expect(parts.join("")).toBe(text);
});

test("an empty answer still says something; a short one is one part, as it is (plain text, no markup)", () => {
  expect(splitMessage("  ")).toEqual(["(empty answer)"]);
  expect(splitMessage("<b>*hi*</b> [x](http://e)")).toEqual(["<b>*hi*</b> [x](http://e)"]);
});

test("a message with buttons is cut to one message with a note", () => {
  const fitted = fitOneMessage("x".repeat(10_000));
  expect(fitted.length).toBeLessThanOrEqual(MESSAGE_LIMIT);
  expect(fitted).toContain("carapace approvals show");
  expect(fitOneMessage("short")).toBe("short");
});
