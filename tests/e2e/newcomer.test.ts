/**
 * A newcomer from download to a working agent and back: install.sh from a release served on loopback,
 * `carapace setup` answered on a pseudo-terminal (credential, image build, smoke test, demo), a prompt
 * against a scripted upstream, then `carapace uninstall`. Afterwards this home, its PATH line, its image
 * and its containers are gone, while a second home of the same user keeps all of its own.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { CLAUDE_CACHE_DIR } from "../../build/image/agent.ts";
import { startScriptedModel } from "../../src/agent/scripted-model.ts";
import { CLAUDE_CODE_VERSION } from "../../src/container/image.ts";
import { instanceId } from "../../src/container/lockdown.ts";
import { LABELS } from "../../src/container/paths.ts";
import { BASE_IMAGE, podmanSkipReason } from "../container/podman-env.ts";
import { hasScript, onPty } from "../harness/pty.ts";
import { runCommand } from "../harness/run.ts";
import { acquireReleaseFixture, type ReleaseFixture, releaseReleaseFixture } from "../release/fixtures/releases.ts";
import { baseEnv, makeSandbox, type Sandbox } from "../release/fixtures/run.ts";
import { type ReleaseServer, startReleaseServer } from "../release/fixtures/server.ts";

const MARK = "# added by carapace install.sh";
const claudeCached = join(CLAUDE_CACHE_DIR, CLAUDE_CODE_VERSION, process.arch, "claude");
const skipReason =
  podmanSkipReason ??
  (hasScript ? null : "script(1) is not installed") ??
  (existsSync(claudeCached)
    ? null
    : `Claude Code is not cached at ${claudeCached} (bun build/image/agent.ts --fetch-only)`);
if (skipReason !== null) console.log(`[newcomer test] skipped: ${skipReason}`);

let fixture: ReleaseFixture;
let server: ReleaseServer;

beforeAll(async () => {
  if (skipReason !== null) return;
  fixture = await acquireReleaseFixture();
  server = await startReleaseServer(fixture.tls, fixture.v2);
}, 300_000);

afterAll(async () => {
  await server?.close();
  if (fixture !== undefined) await releaseReleaseFixture();
});

const podman = (...args: string[]) => Bun.spawnSync(["podman", ...args], { stdout: "pipe", stderr: "pipe" });
const labelled = (kind: "images" | "ps", home: string) =>
  podman(
    ...(kind === "ps" ? ["ps", "-a"] : ["images"]),
    "--filter",
    `label=${LABELS.instance}=${instanceId(home)}`,
    "-q",
  )
    .stdout.toString()
    .trim();

/** What the second home of the same user made: its own image and a container, both with its label. */
function secondHomeArtefacts(home: string): { image: string; container: string } {
  const image = `localhost/carapace-newcomer-other:${instanceId(home)}`;
  const container = `carapace-newcomer-other-${instanceId(home)}`;
  const built = Bun.spawnSync(
    ["podman", "build", "-q", "-t", image, "--label", `${LABELS.instance}=${instanceId(home)}`, "-f", "-", "/tmp"],
    { stdin: new TextEncoder().encode(`FROM ${BASE_IMAGE}\n`) },
  );
  if (built.exitCode !== 0) throw new Error(built.stderr.toString());
  const created = podman(
    "create",
    "--name",
    container,
    "--label",
    `${LABELS.managed}=true`,
    "--label",
    `${LABELS.instance}=${instanceId(home)}`,
    image,
    "true",
  );
  if (created.exitCode !== 0) throw new Error(created.stderr.toString());
  return { image, container };
}

describe.skipIf(skipReason !== null)("a newcomer, from install.sh to uninstall", () => {
  test("install, setup on a terminal, demo, prompt, uninstall: only this home's things go", async () => {
    const s: Sandbox = makeSandbox();
    const home = s.carapaceHome;
    const other = join(s.home, ".carapace-other");
    const env = baseEnv(s, { CURL_CA_BUNDLE: fixture.tls.caFile });
    const install = (extra: Record<string, string> = {}) =>
      runCommand(["sh", join(fixture.v2, "install.sh"), "--base-url", server.baseUrl, "--yes"], {
        env: { ...env, ...extra },
      });
    // A second Carapace home of the same user, installed the same way, with an image and a container.
    expect((await install({ CARAPACE_HOME: other })).code).toBe(0);
    const second = secondHomeArtefacts(other);
    const model = await startScriptedModel({ turns: [] });
    try {
      const installed = await install();
      expect(installed.code).toBe(0);
      const bin = join(home, "bin", "carapace");
      const bashrc = join(s.home, ".bashrc");
      expect(
        readFileSync(bashrc, "utf8")
          .split("\n")
          .filter((l) => l.includes(MARK)),
      ).toHaveLength(2);

      // Offline CI: the locally made base instead of the registry's, the upstream is the scripted model,
      // Claude Code comes from the test cache (a release build fetches it with npm), and a tag of its own.
      const user = { ...env, CARAPACE_HOME: home, PATH: `${join(home, "bin")}:${env.PATH}` };
      const port = new URL(model.url).port;
      const tag = `localhost/carapace-newcomer:${instanceId(home)}`;
      for (const [key, value] of [
        ["runtime.base_image", BASE_IMAGE],
        ["runtime.image", tag],
        ["network.upstream_allowlist", `["api.anthropic.com:443","127.0.0.1:${port}"]`],
        ["network.upstream_url", model.url],
      ] as const)
        expect((await runCommand([bin, "config", "set", key, value], { env: user })).code).toBe(0);
      const cache = join(home, "cache", "claude-code", CLAUDE_CODE_VERSION, process.arch);
      mkdirSync(cache, { recursive: true });
      symlinkSync(claudeCached, join(cache, "claude"));

      const setup = onPty([bin, "setup"], user);
      await setup.waitFor("Which Anthropic credential should sessions use?");
      setup.type("\r");
      await setup.waitFor("Anthropic API key");
      setup.type("sk-ant-newcomer-key-0123456789\r");
      await setup.waitFor("Build it now");
      setup.type("\r");
      await setup.waitFor(/Run the demo now/, 600_000);
      setup.type("\r");
      await setup.waitFor("Next steps:", 300_000);
      expect(await setup.exited).toBe(0);
      const screen = setup.screen();
      expect(screen).toContain("✓ pass Anthropic credential: anthropic_api_key stored (sk-…6789) and verified");
      expect(screen).toContain(`✓ pass agent image: ${tag} built`);
      expect(screen).toContain("✓ pass end-to-end smoke test");
      expect(screen).toContain("== Carapace demo");
      expect(screen).not.toContain("sk-ant-newcomer-key-0123456789");
      expect(screen).not.toMatch(/Error: .*Error: /);

      // A real prompt through the scripted upstream.
      model.script([{ text: "Hello, newcomer: I run in a locked-down container." }]);
      const core = Bun.spawn([bin, "start"], { env: user, stdout: "ignore", stderr: "ignore" });
      for (let i = 0; i < 200 && (await runCommand([bin, "status"], { env: user })).code !== 0; i++)
        await Bun.sleep(100);
      const prompt = await runCommand([bin, "prompt", "Say hello"], { env: user });
      expect(prompt.stderr).not.toContain("Error");
      expect(prompt.stdout).toContain("Hello, newcomer");
      expect((await runCommand([bin, "stop"], { env: user })).code).toBe(0);
      await core.exited;
      expect(labelled("images", home)).not.toBe("");

      const dry = await runCommand([bin, "uninstall", "--dry-run"], { env: user });
      expect(dry.stdout).toContain(`remove ${tag} (`);
      expect(dry.stdout).not.toContain(second.image);
      expect(dry.stdout).not.toContain(other);
      const gone = await runCommand([bin, "uninstall", "--yes"], { env: user });
      expect(gone.stderr).toBe("");
      expect(gone.code).toBe(0);

      expect(existsSync(home)).toBe(false);
      expect(labelled("images", home)).toBe("");
      expect(labelled("ps", home)).toBe("");
      const lines = readFileSync(bashrc, "utf8")
        .split("\n")
        .filter((l) => l.includes(MARK));
      expect(lines).toEqual([expect.stringContaining(`'${join(other, "bin")}'`)]);
      // The second home keeps everything.
      expect(existsSync(join(other, "bin", "carapace"))).toBe(true);
      expect(podman("image", "exists", second.image).exitCode).toBe(0);
      expect(podman("container", "exists", second.container).exitCode).toBe(0);
    } finally {
      await model.close();
      podman("rm", "-f", second.container);
      podman("rmi", "-f", second.image);
      for (const id of labelled("ps", home).split("\n").filter(Boolean)) podman("rm", "-f", id);
      for (const id of labelled("images", home).split("\n").filter(Boolean)) podman("rmi", "-f", id);
    }
  }, 900_000);
});
