import { afterEach, beforeEach, expect, spyOn, test } from "bun:test";
import { AuditLog } from "../../../src/core/response/audit-log.ts";
import { entry, tempHome } from "./audit-helpers.ts";

let t: ReturnType<typeof tempHome>;
beforeEach(() => {
  t = tempHome();
});
afterEach(() => t.cleanup());

test("an event record that cannot be written is counted and told on the core log, never dropped", async () => {
  const log = new AuditLog(t.home);
  await log.appendEvent(entry(0));
  expect(log.unwrittenEvents).toBe(0);
  await log.close();
  const stderr = spyOn(process.stderr, "write").mockImplementation(() => true);
  try {
    for (let i = 1; i <= 5; i++) await log.appendEvent(entry(i));
    expect(log.unwrittenEvents).toBe(5);
    const lines = stderr.mock.calls.map(([chunk]) => String(chunk));
    // Bounded: the 1st, 2nd and 4th failure are told, with the running count.
    expect(lines).toHaveLength(3);
    expect(lines[0]).toStartWith("[AUDIT] Error: an audit record was not written (1 so far:");
    expect(lines[2]).toContain("(4 so far:");
  } finally {
    stderr.mockRestore();
  }
});

test("reportUnwritten counts a failed record written by another path", () => {
  const log = new AuditLog(t.home);
  const stderr = spyOn(process.stderr, "write").mockImplementation(() => true);
  try {
    log.reportUnwritten(new Error("disk full"));
    expect(log.unwrittenEvents).toBe(1);
    expect(String(stderr.mock.calls[0]?.[0])).toContain("disk full");
  } finally {
    stderr.mockRestore();
  }
});
