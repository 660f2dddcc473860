import { describe, expect, test } from "bun:test";
import type { AuditEntry } from "../../../src/core/response/audit-record.ts";
import { RejectionAggregator } from "../../../src/core/response/rejection-aggregator.ts";

function fake() {
  const written: AuditEntry[] = [];
  return { written, audit: { append: async (e: AuditEntry) => void written.push(e) } };
}

const rejection = (i: number, extra: Partial<AuditEntry> = {}): AuditEntry => ({
  kind: "rejected",
  outcome: "rejected",
  group: "g",
  session: "s1",
  stage: 4,
  code: "RATE_LIMITED",
  correlation: `c-${i}`,
  detail: { reason: "rate limit" },
  ...extra,
});

describe("repeated rejections are aggregated", () => {
  test("within a window: the first few written in full, the rest as one record with the count", async () => {
    let now = 1_000_000;
    const { written, audit } = fake();
    const agg = new RejectionAggregator(audit as never, 1_000, 3, () => now);
    for (let i = 0; i < 1000; i++) await agg.record(rejection(i));
    expect(written.map((e) => e.correlation)).toEqual(["c-0", "c-1", "c-2"]);
    now += 1_500;
    await agg.record(rejection(2000));
    expect(written).toHaveLength(5);
    expect(written[3]).toMatchObject({
      stage: 4,
      code: "RATE_LIMITED",
      correlation: null,
      detail: { aggregated: true, repeated: 997, reason: "rate limit" },
    });
    expect(written[4]?.correlation).toBe("c-2000");
  });

  test("other sessions and other codes are counted apart; flush writes what is pending", async () => {
    const { written, audit } = fake();
    const agg = new RejectionAggregator(audit as never, 60_000, 1);
    for (let i = 0; i < 5; i++) {
      await agg.record(rejection(i));
      await agg.record(rejection(i, { session: "s2" }));
      await agg.record(rejection(i, { code: "UNKNOWN_TOOL", stage: 2 }));
    }
    expect(written).toHaveLength(3);
    await agg.flush();
    expect(written.slice(3).map((e) => [e.session, e.code, (e.detail as { repeated: number }).repeated])).toEqual([
      ["s1", "RATE_LIMITED", 4],
      ["s2", "RATE_LIMITED", 4],
      ["s1", "UNKNOWN_TOOL", 4],
    ]);
  });

  test("the window closes by itself: the count is written without a further rejection", async () => {
    const { written, audit } = fake();
    // The clock stands still, so the second rejection is inside the window however slow the machine; only
    // the window's own timer (20 ms of real time) can close it.
    const agg = new RejectionAggregator(audit as never, 20, 1, () => 1_000_000);
    await agg.record(rejection(0));
    await agg.record(rejection(1));
    for (let i = 0; i < 500 && written.length < 2; i++) await Bun.sleep(10);
    expect(written.map((e) => (e.detail as { repeated?: number }).repeated ?? null)).toEqual([null, 1]);
    await agg.flush();
    expect(written).toHaveLength(2);
  });
});
