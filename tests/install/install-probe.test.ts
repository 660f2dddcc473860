/**
 * The install-time smoke test: right after install.sh has put the binaries in place it runs the
 * installed `carapace doctor --probe` and prints its result (a real release served over loopback HTTPS,
 * real Podman). The probe's image is this clone's agent image relabelled as the release's version, under
 * a tag of this test's own.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { agentImage, agentSkipReason } from "../harness/agent-env.ts";
import { acquireReleaseFixture, type ReleaseFixture, releaseReleaseFixture } from "../release/fixtures/releases.ts";
import { baseEnv, makeSandbox, run, type Sandbox } from "../release/fixtures/run.ts";
import { type ReleaseServer, startReleaseServer } from "../release/fixtures/server.ts";

setDefaultTimeout(180_000);
const IMAGE = `localhost/carapace-install-probe:${process.pid}`;
let fixture: ReleaseFixture;
let server: ReleaseServer;
const sandboxes: Sandbox[] = [];

beforeAll(async () => {
  if (agentSkipReason !== null) return;
  fixture = await acquireReleaseFixture();
  server = await startReleaseServer(fixture.tls, fixture.v2);
  // A label-only image on top of the agent image: a new digest with the release's version, no layer run.
  const built = Bun.spawnSync(["podman", "build", "-q", "-t", IMAGE, "-f", "-"], {
    stdin: new TextEncoder().encode(`FROM ${agentImage.tag}\nLABEL org.opencontainers.image.version=0.2.0\n`),
    stdout: "ignore",
    stderr: "pipe",
  });
  if (built.exitCode !== 0) throw new Error(`building ${IMAGE} failed: ${built.stderr.toString()}`);
}, 180_000);

afterAll(async () => {
  if (agentSkipReason !== null) return;
  Bun.spawnSync(["podman", "rmi", "--ignore", IMAGE], { stdout: "ignore", stderr: "ignore" });
  await server?.close();
  for (const s of sandboxes) rmSync(s.dir, { recursive: true, force: true });
  await releaseReleaseFixture();
});

/** install.sh into a fresh sandbox whose config.toml (and image pin, if given) were written before. */
function install(image: string, pin?: Record<string, string>) {
  const s = makeSandbox();
  sandboxes.push(s);
  mkdirSync(s.carapaceHome, { mode: 0o700 });
  writeFileSync(join(s.carapaceHome, "config.toml"), `[runtime]\nimage = "${image}"\n`, { mode: 0o600 });
  if (pin) {
    mkdirSync(join(s.carapaceHome, "data/core"), { recursive: true });
    writeFileSync(join(s.carapaceHome, "data/core/image-pin.json"), JSON.stringify(pin));
  }
  return run(
    ["sh", join(fixture.v2, "install.sh"), "--base-url", server.baseUrl, "--yes", "--no-modify-path"],
    baseEnv(s, { CURL_CA_BUNDLE: fixture.tls.caFile, NO_COLOR: "1" }),
  );
}

describe.skipIf(agentSkipReason !== null)("install.sh runs the container probe and prints its result", () => {
  test("with the agent image in place: no network, read-only root, ipc answers", async () => {
    const r = await install(IMAGE);
    expect(r.exitCode).toBe(0);
    const probe = r.stdout.slice(r.stdout.indexOf("Container probe (carapace doctor --probe):"));
    expect(probe).toContain("✓ pass container probe: network: none (only the loopback interface;");
    expect(probe).toContain("✓ pass container probe: root filesystem: read-only");
    expect(probe).toContain("✓ pass container probe: ipc to the core: answered through the session socket");
    expect(r.stdout).toContain("| Carapace installed v0.2.0 (linux/x64)");
    expect(r.stderr).not.toContain("container probe failed");
  });

  test("before the image is built the probe says it did not run and what runs it; the install succeeds", async () => {
    const r = await install("localhost/carapace-agent:absent-install-probe");
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain(
      "! warn container probe: not run: the agent image localhost/carapace-agent:absent-install-probe is not built yet",
    );
    expect(r.stdout).toContain("Fix: run `carapace setup` (it builds the image and runs this probe)");
    expect(r.stderr).not.toContain("container probe failed");
  });

  test("a probe that fails is printed with a warning; the install itself succeeds", async () => {
    const pinned = `sha256:${"0".repeat(64)}`;
    const r = await install(IMAGE, { tag: IMAGE, id: pinned, pinnedAt: "2026-01-01T00:00:00Z", how: "build" });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain(`✗ fail container probe: the agent image ${IMAGE} is not the pinned ${pinned}`);
    expect(r.stderr).toContain("[INSTALL] Warning: the container probe failed: run no agent sessions until");
    expect(r.stdout).toContain("| Carapace installed v0.2.0 (linux/x64)");
  });
});
