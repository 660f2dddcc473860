import { expect, test } from "bun:test";
import { detectRuntime } from "../../src/container/detect.ts";
import { BASE_IMAGE, hasPodman, podmanSkipReason, reportSkip, uniqueName } from "./podman-env.ts";

reportSkip("podman image store stamp", podmanSkipReason);

test.skipIf(!hasPodman)(
  "the real podman's image store stamp changes with a tag, a new image and an untag, once its CLI returned",
  async () => {
    const { runtime } = await detectRuntime({ preference: "podman" });
    const stamp = () => runtime.imageStoreStamp();
    const tag = `localhost/carapace-stamp:${uniqueName("t")}`;
    const derived = `localhost/carapace-stamp:${uniqueName("d")}`;
    try {
      const before = stamp();
      expect(before).not.toBeNull();
      // Each change of ours against the stamp read just before it: podman's write is done when its CLI returns.
      expect(Bun.spawnSync(["podman", "tag", BASE_IMAGE, tag]).exitCode).toBe(0);
      const tagged = stamp();
      expect(tagged).not.toBe(before);
      const built = Bun.spawnSync(["podman", "build", "-q", "-t", derived, "-f", "-"], {
        stdin: new TextEncoder().encode(`FROM ${BASE_IMAGE}\nLABEL io.carapace.test.stamp=${process.pid}\n`),
      });
      expect(built.exitCode).toBe(0);
      const rebuilt = stamp();
      expect(rebuilt).not.toBe(tagged);
      expect(Bun.spawnSync(["podman", "rmi", tag]).exitCode).toBe(0);
      expect(stamp()).not.toBe(rebuilt);
    } finally {
      Bun.spawnSync(["podman", "rmi", "--ignore", tag, derived]);
    }
  },
  60_000,
);
