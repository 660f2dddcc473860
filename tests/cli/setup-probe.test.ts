/**
 * `carapace setup` ends with the container probe after the end-to-end smoke test, non-interactively,
 * through the compiled binary on real Podman with this clone's agent image: its three checks are printed
 * and a probe that finds a problem fails setup.
 */
import { describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { agentImage, agentSkipReason } from "../harness/agent-env.ts";
import { ensureBinaries } from "../harness/binaries.ts";
import { tempHome } from "../harness/core.ts";
import { runCommand } from "../harness/run.ts";

function setup(image: string, pin?: Record<string, string>) {
  const user = tempHome();
  const home = join(user, "c");
  if (pin) {
    mkdirSync(join(home, "data/core"), { recursive: true });
    writeFileSync(join(home, "data/core/image-pin.json"), JSON.stringify(pin));
  }
  mkdirSync(join(home, "credentials"), { recursive: true, mode: 0o700 });
  writeFileSync(join(home, "credentials", "anthropic_api_key"), "sk-ant-setup-probe-0000", { mode: 0o600 });
  writeFileSync(join(home, "config.toml"), `[runtime]\nengine = "podman"\nimage = "${image}"\n`, { mode: 0o600 });
  return runCommand([ensureBinaries().carapace, "setup", "--yes", "--skip-image"], {
    env: { PATH: "/usr/bin:/bin", HOME: user, CARAPACE_HOME: home, TMPDIR: "/tmp", NO_COLOR: "1" },
    stdinOpen: true,
  });
}

describe.skipIf(agentSkipReason !== null)("carapace setup runs the container probe", () => {
  test("after the smoke test: no network, read-only root, ipc answers; setup succeeds", async () => {
    const r = await setup(agentImage.tag);
    const smokeAt = r.stdout.indexOf("✓ pass end-to-end smoke test");
    const probeAt = r.stdout.indexOf("✓ pass container probe: network: none (only the loopback interface;");
    expect(smokeAt).toBeGreaterThan(-1);
    expect(probeAt).toBeGreaterThan(smokeAt);
    expect(r.stdout).toContain("✓ pass container probe: root filesystem: read-only");
    expect(r.stdout).toContain("✓ pass container probe: ipc to the core: answered through the session socket");
    expect(r.stdout).toContain("Next steps:");
    expect(r.code).toBe(0);
  }, 120_000);

  test("a probe that fails fails setup with its fix", async () => {
    const pinned = `sha256:${"0".repeat(64)}`;
    const r = await setup(agentImage.tag, {
      tag: agentImage.tag,
      id: pinned,
      pinnedAt: "2026-01-01T00:00:00Z",
      how: "build",
    });
    expect(r.stdout).toContain(`✗ fail container probe: the agent image ${agentImage.tag} is not the pinned ${pinned}`);
    expect(r.stdout).toContain("Fix: rebuild it with `carapace image build`, which pins the new digest");
    expect(r.stdout).toContain("Setup finished with");
    expect(r.code).toBe(1);
  }, 120_000);
});
