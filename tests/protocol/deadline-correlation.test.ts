import { describe, expect, test } from "bun:test";
import { callerDeadline, deadlineCorrelation } from "../../src/protocol/deadline-correlation.ts";
import { parseWire } from "../../src/protocol/wire.ts";

describe("a correlation that carries its caller's deadline", () => {
  test("is a version 8 UUID the wire accepts, and unique", () => {
    const ids = new Set(Array.from({ length: 200 }, () => deadlineCorrelation(35_000)));
    expect(ids.size).toBe(200);
    for (const id of ids) {
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(parseWire({ topic: "tool.invoke.x", correlation: id, arguments: {} }).ok).toBe(true);
    }
  });

  test("gives back the send time plus the timeout (whole seconds, rounded up)", () => {
    const sent = 1_700_000_000_000;
    expect(callerDeadline(deadlineCorrelation(2_500, sent), sent + 100, 35_000)).toBe(sent + 3_000);
    expect(callerDeadline(deadlineCorrelation(10, sent), sent, 35_000)).toBe(sent + 1_000);
  });

  test("a claimed send time after receipt counts from receipt: a caller cannot extend its own deadline that way", () => {
    const received = 1_700_000_000_000;
    expect(callerDeadline(deadlineCorrelation(5_000, received + 3_600_000), received, 35_000)).toBe(received + 5_000);
  });

  test("any other correlation gets receipt time plus the default", () => {
    expect(callerDeadline(crypto.randomUUID(), 1000, 35_000)).toBe(36_000);
    expect(callerDeadline(null, 1000, 35_000)).toBe(36_000);
  });
});
