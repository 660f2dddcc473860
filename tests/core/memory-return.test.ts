import { expect, test } from "bun:test";
import { MemoryReturn } from "../../src/core/memory-return.ts";

async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!check() && Date.now() < deadline) await Bun.sleep(5);
}

test("a burst of activity is followed by exactly one collection, and quiet after it by none", async () => {
  let collected = 0;
  const memory = new MemoryReturn(20, () => collected++);
  for (let i = 0; i < 50; i++) memory.activity();
  await until(() => collected > 0);
  expect(collected).toBe(1);
  expect(memory.collections).toBe(1);
  // Nothing is armed without new activity.
  await Bun.sleep(100);
  expect(collected).toBe(1);
  memory.activity();
  await until(() => collected > 1);
  expect(collected).toBe(2);
});

test("stop cancels a pending collection", async () => {
  let collected = 0;
  const memory = new MemoryReturn(20, () => collected++);
  memory.activity();
  memory.stop();
  await Bun.sleep(100);
  expect(collected).toBe(0);
});
