import { expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { ScriptedModel, ScriptedTurn } from "../../src/agent/scripted-model.ts";
import { agentHome, agentImage, agentSkipReason } from "../harness/agent-env.ts";
import { type RunningCore, startCore } from "../harness/core.ts";

const TAG = `localhost/carapace-agent:pin-test-${process.pid}`;
const STALE = `localhost/carapace-agent:stale-test-${process.pid}`;
const LATER = `localhost/carapace-agent:later-stale-${process.pid}`;

/** A label-only image on top of `from`: a new digest, built in a moment, no layer run. */
function deriveImage(from: string, tag: string, label: string): number {
  return Bun.spawnSync(["podman", "build", "-q", "-t", tag, "-f", "-"], {
    stdin: new TextEncoder().encode(`FROM ${from}\nLABEL ${label}\n`),
    stdout: "ignore",
    stderr: "inherit",
  }).exitCode;
}

/**
 * Runs `body` on a core whose sessions run the image `tag` (first made a name of this clone's agent image
 * when `copy`), its model scripted with `turns`. Afterwards only that name is removed: `podman untag
 * <image>` without names would strip every tag of the image behind it, here the base image the other
 * real-runtime suites need.
 */
async function withImageCore(
  tag: string,
  options: { copy: boolean; turns: ScriptedTurn[] },
  body: (core: RunningCore, home: string, model: ScriptedModel) => Promise<void>,
): Promise<void> {
  if (options.copy) Bun.spawnSync(["podman", "tag", agentImage.tag, tag]);
  const { home, model } = await agentHome(options.turns, "", { image: tag });
  const core = await startCore({ home });
  try {
    await body(core, home, model);
  } finally {
    await core.stop();
    await model.close();
    Bun.spawnSync(["podman", "rmi", "--ignore", tag]);
  }
}

const TWO_TURNS: ScriptedTurn[] = [{ text: "first answer" }, { text: "must not be reached" }];

test.skipIf(agentSkipReason !== null)(
  "image pinning: sessions run the pinned digest; an image swapped under the tag is refused",
  async () => {
    await withImageCore(TAG, { copy: true, turns: TWO_TURNS }, async (core, home, model) => {
      const first = await core.carapace(["prompt", "hi", "--group", "pin"]);
      expect(first.code).toBe(0);
      const pin = JSON.parse(readFileSync(join(home, "data/core/image-pin.json"), "utf8"));
      expect(pin).toMatchObject({ tag: TAG, how: "first-use" });
      expect(pin.id).toMatch(/^sha256:[0-9a-f]{64}$/);
      // Someone replaces the image behind the tag with one that carries the same carapace labels.
      expect(deriveImage(agentImage.tag, TAG, "io.carapace.test.swapped=1")).toBe(0);
      const second = await core.carapace(["prompt", "hi", "--group", "pin"]);
      expect(second.code).toBe(1);
      expect(second.stderr).toContain("not the pinned");
      expect(model.requests.length).toBe(1);
    });
  },
  120_000,
);

test.skipIf(agentSkipReason !== null)(
  "a stale or foreign image is refused at session start with a fix, and nothing is pinned",
  async () => {
    await withImageCore(STALE, { copy: false, turns: [{ text: "must not be reached" }] }, async (core, home, model) => {
      for (const [from, label, why] of [
        [agentImage.tag, "org.opencontainers.image.version=0.0.0-old", "carapace version is 0.0.0-old"],
        ["localhost/carapace-base:bookworm", "io.carapace.test.foreign=1", "carapace version is unset"],
      ] as const) {
        expect(deriveImage(from, STALE, label)).toBe(0);
        const r = await core.carapace(["prompt", "hi", "--group", "stale"]);
        expect(r.code).toBe(1);
        expect(r.stderr).toContain("is stale or not a carapace image");
        expect(r.stderr).toContain(why);
        expect(r.stderr).toContain("Fix: rebuild it with `carapace image build`");
        expect(existsSync(join(home, "data/core/image-pin.json"))).toBe(false);
        Bun.spawnSync(["podman", "rmi", STALE]);
      }
      expect(model.requests.length).toBe(0);
    });
  },
  120_000,
);

test.skipIf(agentSkipReason !== null)(
  "a stale image put under the tag after a session ran is refused by the running core's next session",
  async () => {
    await withImageCore(LATER, { copy: true, turns: TWO_TURNS }, async (core, _home, model) => {
      // The first session leaves the core's image answers cached for this tag.
      expect((await core.carapace(["prompt", "hi", "--group", "later"])).code).toBe(0);
      expect(deriveImage(agentImage.tag, LATER, "org.opencontainers.image.version=0.0.0-old")).toBe(0);
      const second = await core.carapace(["prompt", "hi", "--group", "later"]);
      expect(second.code).toBe(1);
      expect(second.stderr).toContain("is stale or not a carapace image");
      expect(second.stderr).toContain("carapace version is 0.0.0-old");
      expect(model.requests.length).toBe(1);
    });
  },
  120_000,
);
