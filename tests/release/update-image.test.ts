/**
 * `carapace update` on a home that runs agent sessions, through the installed binaries on real Podman: a
 * v0.1.0 install builds and pins its agent image; the update to v0.2.0 rebuilds the image under the same
 * tag and pins the new digest; doctor shows that digest and that the image matches it; the old image put
 * back under the tag is refused at session start with a fix. The image has a tag of this test's own,
 * never the shared release tag; Claude Code comes from the local cache (nothing is fetched).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CLAUDE_CACHE_DIR } from "../../build/image/agent.ts";
import { startScriptedModel } from "../../src/agent/scripted-model.ts";
import { CLAUDE_CODE_VERSION } from "../../src/container/image.ts";
import { runCarapace, startTempCore } from "../../src/doctor/attack/temp-core.ts";
import { BASE_IMAGE, podmanSkipReason, reportSkip } from "../container/podman-env.ts";
import { acquireReleaseFixture, type ReleaseFixture, releaseReleaseFixture } from "./fixtures/releases.ts";
import { baseEnv, makeSandbox, run, type Sandbox } from "./fixtures/run.ts";
import { type ReleaseServer, startReleaseServer } from "./fixtures/server.ts";

const TAG = `localhost/carapace-update-test:${process.pid}`;
const cachedClaude = join(CLAUDE_CACHE_DIR, CLAUDE_CODE_VERSION, process.arch, "claude");
const skipReason =
  podmanSkipReason ??
  (existsSync(cachedClaude) ? null : `${cachedClaude} is missing (run: bun build/image/agent.ts --fetch-only)`);
reportSkip("carapace update re-pins the agent image", skipReason);

type Check = { id: string; level: string; detail: string; fix?: string };

let fixture: ReleaseFixture;
let server: ReleaseServer;
let s: Sandbox;
const created: string[] = [];

const env = () => ({ ...baseEnv(s, { NODE_EXTRA_CA_CERTS: fixture.tls.caFile }), NO_COLOR: "1" });
const carapace = (args: string[]) => run([join(s.carapaceHome, "bin/carapace"), ...args], env());
const imageId = (ref: string) =>
  Bun.spawnSync(["podman", "image", "inspect", "--format", "{{.Id}}", ref])
    .stdout.toString()
    .trim()
    .replace(/^(sha256:)?/, "sha256:");
const pinned = () =>
  JSON.parse(readFileSync(join(s.carapaceHome, "data/core/image-pin.json"), "utf8")) as { tag: string; id: string };

async function pinCheck(): Promise<Check | undefined> {
  const { stdout } = await carapace(["doctor", "--json"]);
  return (JSON.parse(stdout) as { checks: Check[] }).checks.find((c) => c.id === "image.pin");
}

beforeAll(async () => {
  if (skipReason) return;
  fixture = await acquireReleaseFixture();
  server = await startReleaseServer(fixture.tls, fixture.v1);
  server.versions.set("0.1.0", fixture.v1);
  server.versions.set("0.2.0", fixture.v2);
  s = makeSandbox();
  const installed = await run(
    ["sh", join(fixture.v1, "install.sh"), "--base-url", server.baseUrl, "--yes", "--no-modify-path"],
    baseEnv(s, { CURL_CA_BUNDLE: fixture.tls.caFile }),
  );
  if (installed.exitCode !== 0) throw new Error(`install failed: ${installed.stderr}`);
  server.latest = fixture.v2;
  const claudeDir = join(s.carapaceHome, "cache/claude-code", CLAUDE_CODE_VERSION, process.arch);
  mkdirSync(claudeDir, { recursive: true });
  cpSync(cachedClaude, join(claudeDir, "claude"));
  writeFileSync(join(s.carapaceHome, "config.toml"), `[runtime]\nimage = "${TAG}"\nbase_image = "${BASE_IMAGE}"\n`, {
    mode: 0o600,
  });
}, 120_000);

afterAll(async () => {
  if (skipReason) return;
  Bun.spawnSync(["podman", "rmi", "--ignore", TAG], { stdout: "ignore", stderr: "ignore" });
  for (const id of created) Bun.spawnSync(["podman", "rmi", "--ignore", id], { stdout: "ignore", stderr: "ignore" });
  await server?.close();
  if (s) rmSync(s.dir, { recursive: true, force: true });
  await releaseReleaseFixture();
});

describe.skipIf(skipReason !== null)("carapace update on a home with a pinned agent image", () => {
  test("rebuilds and re-pins the image; doctor shows the new digest matching; the old image is refused", async () => {
    const built = await carapace(["image", "build"]);
    expect(built.stderr).toContain(`[IMAGE] pinned ${TAG} at sha256:`);
    expect(built.exitCode).toBe(0);
    const oldId = imageId(TAG);
    created.push(oldId);
    expect(pinned()).toMatchObject({ tag: TAG, id: oldId });

    const updated = await carapace(["update", "--base-url", server.baseUrl, "--yes"]);
    expect(updated.stdout).toContain("Updated carapace v0.1.0 → v0.2.0");
    expect(updated.stdout).toContain("Rebuilding the agent image for the new version (carapace image build):");
    expect(updated.stdout).toContain("agent image rebuilt and pinned.");
    expect(updated.exitCode).toBe(0);
    const newId = imageId(TAG);
    created.push(newId);
    expect(newId).not.toBe(oldId);
    expect(pinned()).toMatchObject({ tag: TAG, id: newId });
    // The doctor run by update comes after the rebuild: it already reports the new pin.
    const doctorPart = updated.stdout.slice(updated.stdout.indexOf("Running carapace doctor:"));
    const pinLine = doctorPart.split("\n").find((l) => l.includes("agent image digest:"));
    expect(pinLine).toStartWith(`✓ pass agent image digest: pinned ${newId} `);
    expect(pinLine).toEndWith(`${TAG} matches`);
    const labels = Bun.spawnSync(["podman", "image", "inspect", "--format", "{{json .Labels}}", TAG]).stdout.toString();
    expect(JSON.parse(labels)["org.opencontainers.image.version"]).toBe("0.2.0");

    const check = await pinCheck();
    expect(check?.level).toBe("pass");
    expect(check?.detail).toContain(newId);
    expect(check?.detail).toContain("matches");

    // The v0.1.0 image put back under the tag: doctor fails the pin, and a session refuses to start on it.
    expect(Bun.spawnSync(["podman", "tag", oldId, TAG]).exitCode).toBe(0);
    const moved = await pinCheck();
    expect(moved?.level).toBe("fail");
    expect(moved?.fix).toContain("carapace image build");

    const model = await startScriptedModel({ turns: [{ text: "must not be reached" }] });
    const port = new URL(model.url).port;
    writeFileSync(
      join(s.carapaceHome, "config.toml"),
      `[network]\nupstream_url = "${model.url}"\nupstream_allowlist = ["127.0.0.1:${port}"]\n` +
        `[runtime]\nimage = "${TAG}"\nbase_image = "${BASE_IMAGE}"\n`,
      { mode: 0o600 },
    );
    const bin = join(s.carapaceHome, "bin/carapace");
    const core = startTempCore(bin, env());
    try {
      expect(await core.ready(30_000)).toBe(true);
      const session = await runCarapace(bin, ["prompt", "hi", "--group", "update"], env(), 60_000);
      expect(session.code).toBe(1);
      expect(session.stderr).toContain("is stale or not a carapace image");
      expect(session.stderr).toContain("carapace version is 0.1.0");
      expect(session.stderr).toContain("Fix: rebuild it with `carapace image build`");
      expect(model.requests.length).toBe(0);
      expect(pinned().id).toBe(newId);
    } finally {
      await core.stop();
      await model.close();
    }
  }, 900_000);
});
