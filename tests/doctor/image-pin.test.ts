import { describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { agentImage, agentSkipReason } from "../harness/agent-env.ts";
import { ensureBinaries } from "../harness/binaries.ts";
import { tempHome } from "../harness/core.ts";
import { runCommand } from "../harness/run.ts";

type Check = { id: string; level: string; detail: string; fix?: string };

async function pinCheck(home: string): Promise<Check | undefined> {
  const { carapace } = ensureBinaries();
  const { stdout } = await runCommand([carapace, "doctor", "--json"], {
    env: { PATH: "/usr/bin:/bin", HOME: home, CARAPACE_HOME: home, TMPDIR: "/tmp" },
  });
  return (JSON.parse(stdout) as { checks: Check[] }).checks.find((c) => c.id === "image.pin");
}

function homeWithPin(id: string | null): string {
  const home = tempHome();
  writeFileSync(join(home, "config.toml"), `[runtime]\nimage = "${agentImage.tag}"\n`);
  if (id !== null) {
    mkdirSync(join(home, "data/core"), { recursive: true });
    const pin = { tag: agentImage.tag, id, pinnedAt: "2026-01-01T00:00:00.000Z", how: "build" };
    writeFileSync(join(home, "data/core/image-pin.json"), JSON.stringify(pin));
  }
  return home;
}

const imageId = () =>
  `sha256:${Bun.spawnSync(["podman", "image", "inspect", "--format", "{{.Id}}", agentImage.tag])
    .stdout.toString()
    .trim()
    .replace(/^sha256:/, "")}`;

describe.skipIf(agentSkipReason !== null)("carapace doctor shows the pinned image digest", () => {
  test("a matching image: the pinned digest is shown and passes", async () => {
    const id = imageId();
    const c = await pinCheck(homeWithPin(id));
    expect(c?.level).toBe("pass");
    expect(c?.detail).toContain(id);
    expect(c?.detail).toContain("matches");
  });

  test("a tag that moved away from the pin fails, saying sessions refuse it, with a fix", async () => {
    const pinned = `sha256:${"0".repeat(64)}`;
    const c = await pinCheck(homeWithPin(pinned));
    expect(c?.level).toBe("fail");
    expect(c?.detail).toContain(pinned);
    expect(c?.detail).toContain(imageId());
    expect(c?.fix).toContain("carapace image build");
  });

  test("nothing pinned yet is a warning with how to pin", async () => {
    const c = await pinCheck(homeWithPin(null));
    expect(c?.level).toBe("warn");
    expect(c?.fix).toContain("carapace image build");
  });
});
