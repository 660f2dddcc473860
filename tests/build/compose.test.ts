/**
 * The development compose file (compose.yaml) with Debian's podman-compose: it brings up the core from
 * this checkout in a development home with the scripted model as its upstream, the host's compiled
 * `carapace` reaches that core through the home's control socket, and `down` stops it again. The project
 * name, development home and network are this test's own.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { podmanSkipReason, reportSkip } from "../container/podman-env.ts";
import { ensureBinaries } from "../harness/binaries.ts";
import { runCommand } from "../harness/run.ts";

const root = join(import.meta.dir, "../..");
const PROJECT = `carapace-compose-test-${process.pid}`;
const skipReason =
  podmanSkipReason ??
  (Bun.which("podman-compose") === null
    ? "podman-compose is not installed (build/setup-dev.sh installs it: apt-get install podman-compose)"
    : existsSync(join(root, "node_modules/.bin/bun"))
      ? null
      : "node_modules/.bin/bun is missing (run: bun install --frozen-lockfile)");
reportSkip("development compose file", skipReason);

const devHome = mkdtempSync(join(tmpdir(), "carapace-dev-home-"));
const env = {
  // The project network's backend (netavark) runs iptables, which lives in sbin.
  PATH: "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
  HOME: devHome,
  TMPDIR: "/tmp",
  NO_COLOR: "1",
  CARAPACE_DEV_HOME: devHome,
  CARAPACE_HOME: devHome,
};
const compose = (args: string[]) => runCommand(["podman-compose", "-p", PROJECT, ...args], { env, cwd: root });
const carapace = (args: string[]) => runCommand([ensureBinaries().carapace, ...args], { env });
const projectContainers = () =>
  Bun.spawnSync(["podman", "ps", "-a", "-q", "--filter", `label=io.podman.compose.project=${PROJECT}`])
    .stdout.toString()
    .split("\n")
    .filter(Boolean);

afterAll(async () => {
  if (skipReason) return;
  await compose(["down"]);
  // podman-compose 1.0.3 creates the project's network on `up` and leaves it on `down`.
  Bun.spawnSync(["podman", "network", "rm", "-f", `${PROJECT}_default`], { stdout: "ignore", stderr: "ignore" });
  rmSync(devHome, { recursive: true, force: true });
});

describe.skipIf(skipReason !== null)("compose.yaml with podman-compose", () => {
  test("up: the core answers in the development home, its upstream the scripted model; down stops it", async () => {
    const up = await compose(["up", "-d"]);
    expect(up.code).toBe(0);
    let status = await carapace(["status"]);
    for (let i = 0; i < 120 && status.code !== 0; i++) {
      await Bun.sleep(500);
      status = await carapace(["status"]);
    }
    expect(status.stdout).toContain("Carapace core: running");
    expect(status.code).toBe(0);

    const call = await carapace(["call", "hello.echo", '{"message":"from the host"}']);
    expect(call.code).toBe(0);
    expect(JSON.parse(call.stdout)).toEqual({ message: "from the host" });

    const config = readFileSync(join(devHome, "config.toml"), "utf8");
    expect(config).toContain('upstream_url = "http://127.0.0.1:18788"');
    expect(existsSync(join(devHome, "credentials/anthropic_api_key"))).toBe(true);
    const [container] = projectContainers();
    const asked = Bun.spawnSync([
      "podman",
      "exec",
      container as string,
      "/src/node_modules/.bin/bun",
      "-e",
      'const r = await fetch("http://127.0.0.1:18788/v1/messages", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "m", max_tokens: 8, messages: [{ role: "user", content: "hi" }] }) }); console.log(await r.text());',
    ]);
    expect(asked.stdout.toString()).toContain("[scripted model] Hello from the development compose");

    const down = await compose(["down"]);
    expect(down.code).toBe(0);
    expect(projectContainers()).toEqual([]);
    const after = await carapace(["status"]);
    expect(after.stdout).toContain("Carapace core: not running");
    expect(after.code).toBe(3);
  }, 180_000);
});
