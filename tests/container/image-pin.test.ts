import { expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { MockRuntime } from "../../src/container/adapters/mock.ts";
import { pinBuiltImage, readImagePin, resolvePinnedImage } from "../../src/container/image-pin.ts";
import { tempHome } from "../harness/core.ts";

function home(): string {
  const h = tempHome();
  mkdirSync(join(h, "data", "core"), { recursive: true });
  return h;
}

test("first use pins the digest; the same digest passes; a replaced image under the tag is refused", async () => {
  const h = home();
  const rt = new MockRuntime({ images: { "localhost/agent:1": { v: "1" } } });
  const first = await resolvePinnedImage(h, rt, "localhost/agent:1");
  expect(first.pinned).toBe("first-use");
  expect(readImagePin(h)).toMatchObject({ tag: "localhost/agent:1", id: first.id, how: "first-use" });
  expect(await resolvePinnedImage(h, rt, "localhost/agent:1")).toEqual({ id: first.id, pinned: "existing" });
  const swapped = new MockRuntime({ images: { "localhost/agent:1": { v: "evil" } } });
  await expect(resolvePinnedImage(h, swapped, "localhost/agent:1")).rejects.toThrow(
    /pinned .*Fix: rebuild it with `carapace image build`/,
  );
});

test("a build re-pins; a missing image is an actionable error", async () => {
  const h = home();
  const rt = new MockRuntime({ images: { "localhost/agent:1": { v: "2" } } });
  const pin = await pinBuiltImage(h, rt, "localhost/agent:1");
  expect(pin.how).toBe("build");
  expect((await resolvePinnedImage(h, rt, "localhost/agent:1")).id).toBe(pin.id);
  await expect(resolvePinnedImage(h, rt, "localhost/none:1")).rejects.toThrow("does not exist");
  await expect(pinBuiltImage(h, rt, "localhost/none:1")).rejects.toThrow("not found after the build");
});
