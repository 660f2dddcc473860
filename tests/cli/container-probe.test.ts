/**
 * `carapace doctor --probe` through the compiled binary on real Podman with this clone's agent image: a
 * container with the session's locked-down run spec has no network, a read-only root and reaches the
 * core only through ipc; nothing is left behind. A probe that cannot run (no image yet) only warns; a
 * stale image fails. The core hands a session socket only to a user an agent container runs as.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { control } from "../../src/cli/control-client.ts";
import { agentImage, agentSkipReason, homeContainers } from "../harness/agent-env.ts";
import { ensureBinaries } from "../harness/binaries.ts";
import { startCore, tempHome } from "../harness/core.ts";
import { runCommand } from "../harness/run.ts";

type Check = { id: string; title: string; level: string; detail: string; fix?: string };

function homeWithImage(image: string): string {
  const home = tempHome();
  writeFileSync(join(home, "config.toml"), `[runtime]\nimage = "${image}"\n`, { mode: 0o600 });
  return home;
}

async function probe(home: string, json = true) {
  const { carapace } = ensureBinaries();
  const r = await runCommand([carapace, "doctor", "--probe", ...(json ? ["--json"] : [])], {
    env: { PATH: "/usr/bin:/bin", HOME: home, CARAPACE_HOME: home, TMPDIR: "/tmp", NO_COLOR: "1" },
  });
  const checks = json ? (JSON.parse(r.stdout) as { checks: Check[] }).checks : [];
  return { ...r, checks, byId: Object.fromEntries(checks.map((c) => [c.id, c])) };
}

describe.skipIf(agentSkipReason !== null)("carapace doctor --probe (real Podman, the agent image)", () => {
  test("no network, a read-only root, ipc answers; exit 0; no container, session or core left", async () => {
    const home = homeWithImage(agentImage.tag);
    const r = await probe(home);
    expect(r.checks.map((c) => [c.id, c.level])).toEqual([
      ["probe.network", "pass"],
      ["probe.root", "pass"],
      ["probe.ipc", "pass"],
    ]);
    expect(r.byId["probe.network"]?.detail).toContain("only the loopback interface");
    expect(r.byId["probe.root"]?.detail).toContain("read-only");
    expect(r.byId["probe.ipc"]?.detail).toContain("answered through the session socket");
    expect(r.code).toBe(0);
    expect(homeContainers(home)).toEqual([]);
    expect(readdirSync(join(home, "run/agents"))).toEqual([]);
    expect(existsSync(join(home, "run/control.sock"))).toBe(false);
  }, 120_000);

  test("printed as check lines for people", async () => {
    const r = await probe(homeWithImage(agentImage.tag), false);
    expect(r.stdout).toContain("✓ pass container probe: network: none (only the loopback interface;");
    expect(r.stdout).toContain("✓ pass container probe: root filesystem: read-only");
    expect(r.stdout).toContain("✓ pass container probe: ipc to the core:");
  }, 120_000);

  test("a running core is used as it is and keeps running", async () => {
    const core = await startCore({ home: homeWithImage(agentImage.tag) });
    try {
      const r = await probe(core.home);
      expect(r.checks.every((c) => c.level === "pass")).toBe(true);
      expect((await core.carapace(["status"])).code).toBe(0);
    } finally {
      await core.stop();
    }
  }, 120_000);

  test("an image not built yet: the probe does not run and says what runs it; exit 0", async () => {
    const r = await probe(homeWithImage("localhost/carapace-agent:absent-probe-test"));
    expect(r.checks).toEqual([
      {
        id: "probe",
        title: "container probe",
        level: "warn",
        detail: "not run: the agent image localhost/carapace-agent:absent-probe-test is not built yet",
        fix: "run `carapace setup` (it builds the image and runs this probe)",
      },
    ]);
    expect(r.code).toBe(0);
  }, 60_000);

  test("a stale image: not run, with the rebuild fix; exit 0 (doctor reports the image itself)", async () => {
    const r = await probe(homeWithImage("localhost/carapace-base:bookworm"));
    expect(r.byId.probe?.level).toBe("warn");
    expect(r.byId.probe?.detail).toContain("is stale");
    expect(r.byId.probe?.fix).toContain("carapace image build");
    expect(r.code).toBe(0);
  }, 60_000);

  test("an image that is not the pinned digest fails: sessions refuse it", async () => {
    const home = homeWithImage(agentImage.tag);
    mkdirSync(join(home, "data/core"), { recursive: true });
    const pin = { tag: agentImage.tag, id: `sha256:${"0".repeat(64)}`, pinnedAt: "2026-01-01T00:00:00Z", how: "build" };
    writeFileSync(join(home, "data/core/image-pin.json"), JSON.stringify(pin));
    const r = await probe(home);
    expect(r.byId.probe?.level).toBe("fail");
    expect(r.byId.probe?.detail).toContain(`is not the pinned sha256:${"0".repeat(64)}`);
    expect(r.byId.probe?.fix).toContain("carapace image build");
    expect(r.code).toBe(1);
  }, 60_000);
});

test("the control socket hands a session socket only to a user an agent container runs as", async () => {
  const core = await startCore();
  try {
    expect(() => control(core.home, "session.open", { group: "probe", agent_user: "1234:1234" })).toThrow(
      /agent_user 1234:1234 is not a user an agent container runs as/,
    );
    const opened = control(core.home, "session.open", { group: "probe", agent_user: "65534:65534" }) as {
      socket: string;
    };
    expect(Bun.spawnSync(["stat", "-c", "%u:%g", opened.socket]).stdout.toString().trim()).toBe(
      process.getuid?.() === 0 ? "65534:65534" : `${process.getuid?.()}:${process.getgid?.()}`,
    );
  } finally {
    await core.stop();
  }
}, 60_000);
