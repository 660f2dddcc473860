import { expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { CARAPACE_VERSION } from "../../src/config/version.ts";
import { MockRuntime } from "../../src/container/adapters/mock.ts";
import { CLAUDE_CODE_VERSION, IMAGE_LABELS } from "../../src/container/image.ts";
import { ImageLabelsById } from "../../src/container/image-cache.ts";
import { agentImageState, sessionImage } from "../../src/container/image-current.ts";
import { pinBuiltImage } from "../../src/container/image-pin.ts";
import { tempHome } from "../harness/core.ts";

const CURRENT = { [IMAGE_LABELS.version]: CARAPACE_VERSION, [IMAGE_LABELS.claudeCode]: CLAUDE_CODE_VERSION };

/** A mock runtime that counts the CLI calls a session's image check would make. */
class CountingRuntime extends MockRuntime {
  idLookups = 0;
  override async imageId(ref: string): Promise<string | null> {
    this.idLookups++;
    return await super.imageId(ref);
  }
}

function setup(tag: string, stamps: boolean) {
  const home = tempHome();
  mkdirSync(join(home, "data", "core"), { recursive: true });
  const runtime = new CountingRuntime({ images: { [tag]: { ...CURRENT, "test.case": tag } } });
  runtime.stampsImages = stamps;
  return { home, runtime };
}

test("an unchanged image store: the second session asks the runtime nothing", async () => {
  const tag = `localhost/agent:cache-unchanged-${process.pid}`;
  const { home, runtime } = setup(tag, true);
  const first = await sessionImage(home, runtime, tag);
  expect(first.pinned).toBe("first-use");
  // One look at the image gives its id and labels.
  expect([runtime.idLookups, runtime.labelLookups]).toEqual([1, 0]);
  expect(await sessionImage(home, runtime, tag)).toEqual({ id: first.id, pinned: "existing" });
  expect([runtime.idLookups, runtime.labelLookups]).toEqual([1, 0]);
});

test("a stale image put under the tag after a session is refused by the next one", async () => {
  const tag = `localhost/agent:cache-stale-${process.pid}`;
  const { home, runtime } = setup(tag, true);
  await sessionImage(home, runtime, tag);
  // The stale check runs before the pin check, so this is refused as stale whatever the pin says.
  runtime.images.set(tag, { ...CURRENT, [IMAGE_LABELS.version]: "0.0.0-old" });
  await expect(sessionImage(home, runtime, tag)).rejects.toThrow(/is stale or not a carapace image.*0\.0\.0-old/);
  expect(runtime.idLookups).toBe(2);
});

test("an image swapped under the tag is refused; a rebuild (re-pinned) is used at once", async () => {
  const tag = `localhost/agent:cache-swap-${process.pid}`;
  const { home, runtime } = setup(tag, true);
  const first = await sessionImage(home, runtime, tag);
  runtime.images.set(tag, { ...CURRENT, "test.swapped": "1" });
  await expect(sessionImage(home, runtime, tag)).rejects.toThrow("not the pinned");
  runtime.images.set(tag, { ...CURRENT, "test.rebuilt": "1" });
  const pin = await pinBuiltImage(home, runtime, tag);
  const rebuilt = await sessionImage(home, runtime, tag);
  expect(rebuilt).toEqual({ id: pin.id, pinned: "existing" });
  expect(rebuilt.id).not.toBe(first.id);
});

test("a runtime without a store stamp resolves the tag every session", async () => {
  const tag = `localhost/agent:cache-nostamp-${process.pid}`;
  const { home, runtime } = setup(tag, false);
  await sessionImage(home, runtime, tag);
  await sessionImage(home, runtime, tag);
  await sessionImage(home, runtime, tag);
  expect(runtime.idLookups).toBe(3);
  // Another image under the tag is another id, refused as stale.
  runtime.images.set(tag, { ...CURRENT, [IMAGE_LABELS.claudeCode]: "0.0.1" });
  await expect(sessionImage(home, runtime, tag)).rejects.toThrow("Claude Code version is 0.0.1");
});

test("an id's labels are remembered by id: another id is asked anew, the same id never again", async () => {
  const tag = `localhost/agent:cache-byid-${process.pid}`;
  const { runtime } = setup(tag, false);
  const cache = new ImageLabelsById();
  const first = (await runtime.imageId(tag)) as string;
  expect(await cache.labels(runtime, first)).toMatchObject(CURRENT);
  expect(await cache.labels(runtime, first)).toMatchObject(CURRENT);
  expect(runtime.labelLookups).toBe(1);
  runtime.images.set(tag, { ...CURRENT, [IMAGE_LABELS.version]: "0.0.0-old" });
  const second = (await runtime.imageId(tag)) as string;
  expect(await cache.labels(runtime, second)).toMatchObject({ [IMAGE_LABELS.version]: "0.0.0-old" });
  expect(runtime.labelLookups).toBe(2);
});

test("a missing image is not remembered: built later, the next session finds it", async () => {
  const tag = `localhost/agent:cache-missing-${process.pid}`;
  const { home, runtime } = setup(tag, true);
  runtime.images.delete(tag);
  await expect(sessionImage(home, runtime, tag)).rejects.toThrow("does not exist");
  runtime.images.set(tag, CURRENT);
  expect((await sessionImage(home, runtime, tag)).pinned).toBe("first-use");
});

test("the start-up check's answers are the first session's: it asks the runtime nothing more", async () => {
  const tag = `localhost/agent:cache-startup-${process.pid}`;
  const { home, runtime } = setup(tag, true);
  const startup = await agentImageState(runtime, tag);
  expect(startup).toEqual({ id: expect.stringMatching(/^sha256:/), state: { state: "current" } });
  expect([runtime.idLookups, runtime.labelLookups]).toEqual([1, 0]);
  expect(await sessionImage(home, runtime, tag)).toEqual({ id: startup.id as string, pinned: "first-use" });
  expect([runtime.idLookups, runtime.labelLookups]).toEqual([1, 0]);
});

test("the start-up check tells a missing image from a stale one, with the stale one's reasons", async () => {
  const tag = `localhost/agent:cache-startup-states-${process.pid}`;
  const { runtime } = setup(tag, true);
  runtime.images.set(tag, { ...CURRENT, [IMAGE_LABELS.version]: "0.0.0-old" });
  const stale = await agentImageState(runtime, tag);
  expect(stale.state).toEqual({ state: "stale", reasons: [expect.stringContaining("carapace version is 0.0.0-old")] });
  runtime.images.delete(tag);
  expect(await agentImageState(runtime, tag)).toEqual({ id: null, state: { state: "missing" } });
});
