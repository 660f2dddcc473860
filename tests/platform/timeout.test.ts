import { expect, test } from "bun:test";
import { withTimeout } from "../../src/platform/timeout.ts";

test("work that settles in time gives its value", async () => {
  expect(await withTimeout(async () => 7, 5_000)).toEqual({ value: 7 });
  expect(await withTimeout(() => "sync", 5_000)).toEqual({ value: "sync" });
});

test("work that never settles is a timeout, and its later rejection is not unhandled", async () => {
  let reject: (e: Error) => void = () => {};
  const never = new Promise<never>((_, r) => {
    reject = r;
  });
  expect(await withTimeout(() => never, 1)).toBe("timeout");
  reject(new Error("late"));
});

test("work that throws rejects with its error", async () => {
  await expect(
    withTimeout(() => {
      throw new Error("boom");
    }, 5_000),
  ).rejects.toThrow("boom");
});
