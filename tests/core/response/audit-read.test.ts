import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MAX_LINE_BYTES, streamLines } from "../../../src/core/response/audit-read.ts";

let dir = "";
afterEach(() => {
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
  dir = "";
});

test("streamLines returns every line whole when lines and multi-byte characters straddle read chunks", async () => {
  dir = mkdtempSync(join(tmpdir(), "audit-read-"));
  const file = join(dir, "log.jsonl");
  // Lengths chosen so boundaries fall inside lines and inside the 3-byte "€": short lines, a line of
  // the longest size the writer produces, and lines of odd lengths, over several chunks' worth of bytes.
  const lines: string[] = [];
  for (let i = 0; lines.join("\n").length < 6 * MAX_LINE_BYTES; i++) {
    const length = i % 97 === 5 ? MAX_LINE_BYTES - 1 : 1 + ((i * 7919) % 1500);
    lines.push(`${i}:${"€".repeat(i % 3)}${"x".repeat(length)}`);
  }
  writeFileSync(file, `${lines.join("\n")}\ntorn tail`);
  const read: string[] = [];
  let torn: string | null = null;
  for await (const line of streamLines(file)) {
    if (line.torn) torn = line.text;
    else {
      expect(line.line).toBe(read.length + 1);
      read.push(line.text);
    }
  }
  expect(read.length).toBe(lines.length);
  expect(read).toEqual(lines);
  expect(torn).toBe("torn tail");
});
