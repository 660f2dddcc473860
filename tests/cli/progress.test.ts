import { describe, expect, test } from "bun:test";
import { progress } from "../../src/cli/progress.ts";

function stream(isTTY: boolean) {
  const written: string[] = [];
  return { isTTY, columns: 60, written, write: (text: string) => written.push(text) > 0 };
}

describe("progress", () => {
  test("off a terminal only the notes are written, whole lines, nothing drawn", () => {
    const s = stream(false);
    const p = progress("building", s);
    p.detail("STEP 1/9: FROM base");
    p.note("[IMAGE] using podman 4.3.1");
    p.end("built x");
    expect(s.written).toEqual(["[IMAGE] using podman 4.3.1\n"]);
  });

  test("on a terminal one line is redrawn in place with the latest detail, cut to the width", () => {
    const s = stream(true);
    const p = progress("building the agent image", s);
    p.detail(`STEP 5/9: COPY ${"x".repeat(200)}`);
    p.note("[IMAGE] a note");
    p.end("built localhost/x:1");
    const drawn = s.written.filter((w) => w.startsWith("\r\u001B[2K") && !w.endsWith("\n"));
    expect(drawn.length).toBeGreaterThan(0);
    for (const line of drawn) expect(line.length).toBeLessThanOrEqual(59 + 5);
    expect(drawn.at(-1)).toContain("STEP 5/9: COPY");
    expect(s.written).toContain("\r\u001B[2K[IMAGE] a note\n");
    const last = s.written.at(-1) ?? "";
    expect(last.startsWith("\r\u001B[2Kbuilt localhost/x:1 (")).toBe(true);
    expect(last.endsWith(" s)\n")).toBe(true);
  });
});
