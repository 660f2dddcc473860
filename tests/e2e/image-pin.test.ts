import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { agentHome, agentImage, agentSkipReason } from "../harness/agent-env.ts";
import { startCore } from "../harness/core.ts";

const TAG = `localhost/carapace-agent:pin-test-${process.pid}`;

test.skipIf(agentSkipReason !== null)(
  "SEC-17: sessions run the pinned digest; an image swapped under the tag is refused",
  async () => {
    Bun.spawnSync(["podman", "tag", agentImage.tag, TAG]);
    const { home, model } = await agentHome([{ text: "first answer" }, { text: "must not be reached" }], "", {
      image: TAG,
    });
    const core = await startCore({ home });
    try {
      const first = await core.carapace(["prompt", "hi", "--group", "pin"]);
      expect(first.code).toBe(0);
      const pin = JSON.parse(readFileSync(join(home, "data/core/image-pin.json"), "utf8"));
      expect(pin).toMatchObject({ tag: TAG, how: "first-use" });
      expect(pin.id).toMatch(/^sha256:[0-9a-f]{64}$/);
      // Someone replaces the image behind the tag.
      expect(Bun.spawnSync(["podman", "tag", "localhost/carapace-base:bookworm", TAG]).exitCode).toBe(0);
      const second = await core.carapace(["prompt", "hi", "--group", "pin"]);
      expect(second.code).toBe(1);
      expect(second.stderr).toContain("not the pinned");
      expect(model.requests.length).toBe(1);
    } finally {
      await core.stop();
      await model.close();
      // Only this name: `podman untag <image>` without names would strip every tag of the image behind
      // it, here the base image the other real-runtime suites need.
      Bun.spawnSync(["podman", "untag", TAG, TAG]);
    }
  },
  120_000,
);
