/**
 * `carapace update` through the installed binary (a v0.1.0 test-key release put in place by
 * install.sh) against the same kind of loopback HTTPS release server; Bun's fetch trusts the test CA
 * through NODE_EXTRA_CA_CERTS.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { sha256Hex } from "../../src/release/checksums.ts";
import { acquireReleaseFixture, type ReleaseFixture, releaseReleaseFixture } from "./fixtures/releases.ts";
import { baseEnv, makeSandbox, run, type Sandbox } from "./fixtures/run.ts";
import { type ReleaseServer, startReleaseServer } from "./fixtures/server.ts";

setDefaultTimeout(60_000);
let fixture: ReleaseFixture;
let server: ReleaseServer;
let base: Sandbox;
const sandboxes: Sandbox[] = [];

beforeAll(async () => {
  fixture = await acquireReleaseFixture();
  server = await startReleaseServer(fixture.tls, fixture.v1);
  server.versions.set("0.1.0", fixture.v1);
  server.versions.set("0.2.0", fixture.v2);
  base = makeSandbox();
  sandboxes.push(base);
  const env = baseEnv(base, { CURL_CA_BUNDLE: fixture.tls.caFile });
  const made = await run(
    ["sh", join(fixture.v1, "install.sh"), "--base-url", server.baseUrl, "--yes", "--no-modify-path"],
    env,
  );
  if (made.exitCode !== 0) throw new Error(`install failed: ${made.stderr}`);
  server.latest = fixture.v2;
}, 120_000);

afterAll(async () => {
  await server?.close();
  for (const s of sandboxes) rmSync(s.dir, { recursive: true, force: true });
  await releaseReleaseFixture();
});

/** A hard-linked copy of the v0.1.0 install (update renames new files in; it never writes in place). */
function installedV1(): Sandbox {
  const s = makeSandbox();
  sandboxes.push(s);
  rmSync(s.home, { recursive: true });
  if (Bun.spawnSync(["cp", "-al", base.home, s.home]).exitCode !== 0) throw new Error("cp -al failed");
  return s;
}

function carapace(s: Sandbox, args: string[]) {
  const env = baseEnv(s, { NODE_EXTRA_CA_CERTS: fixture.tls.caFile });
  return run([join(s.carapaceHome, "bin/carapace"), ...args], env);
}

function update(s: Sandbox, args: string[] = ["--yes"]) {
  return carapace(s, ["update", "--base-url", server.baseUrl, ...args]);
}

async function version(s: Sandbox): Promise<string> {
  return (await carapace(s, ["--version"])).stdout.trim();
}

/**
 * The files in bin/ and lib/ with content hashes: what an update may change. lib/plugins is the home
 * layout's plugin folder, there once a core has started (install.sh's container probe starts one).
 */
function installState(s: Sandbox): Record<string, string> {
  const state: Record<string, string> = {};
  for (const dir of ["bin", "lib"]) {
    for (const entry of readdirSync(join(s.carapaceHome, dir), { withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const name = entry.name;
      state[`${dir}/${name}`] = sha256Hex(readFileSync(join(s.carapaceHome, dir, name)));
    }
  }
  return state;
}

function stagingLeft(s: Sandbox): string[] {
  const cache = join(s.carapaceHome, "cache");
  return existsSync(cache) ? readdirSync(cache).filter((n) => n.startsWith("update-")) : [];
}

describe("carapace update", () => {
  test("verifies, swaps carapace and ipc atomically, runs doctor; a second run finds nothing to do", async () => {
    const s = installedV1();
    const result = await update(s);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain("Updated carapace v0.1.0 → v0.2.0");
    expect(result.stdout).toContain("signature and checksums verified");
    expect(result.stdout).toContain("Running carapace doctor:");
    expect(result.stdout).toMatch(
      /doctor: no failures\.|doctor reported failures \(exit \d+\); the update itself is complete/,
    );
    expect(await version(s)).toBe("0.2.0");
    expect(installState(s)).toEqual({
      "bin/carapace": sha256Hex(readFileSync(join(fixture.v2, "carapace-linux-x64"))),
      "lib/ipc-linux-x64": sha256Hex(readFileSync(join(fixture.v2, "ipc-linux-x64"))),
    });
    expect(stagingLeft(s)).toEqual([]);

    const again = await update(s);
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toContain("carapace v0.2.0 is up to date");
  });

  test("a downgrade is refused unless --allow-downgrade", async () => {
    const s = installedV1();
    expect((await update(s)).exitCode).toBe(0);
    const refused = await update(s, ["--yes", "--version", "v0.1.0"]);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain(
      "[RELEASE] Error: v0.1.0 is older than the installed v0.2.0; downgrades are refused",
    );
    expect(await version(s)).toBe("0.2.0");
    const allowed = await update(s, ["--yes", "--version", "v0.1.0", "--allow-downgrade"]);
    expect(allowed.exitCode).toBe(0);
    expect(await version(s)).toBe("0.1.0");
  });

  const tampered: { name: string; dir: () => string; message: string }[] = [
    {
      name: "a tampered binary",
      dir: () => fixture.tamperedBinary,
      message: "[RELEASE] Error: checksum mismatch for carapace-linux-x64",
    },
    {
      name: "a tampered checksum file",
      dir: () => fixture.tamperedChecksums,
      message: "[RELEASE] Error: the signature over SHA256SUMS does not verify with the Carapace release key",
    },
    {
      name: "a signature by another key",
      dir: () => fixture.foreignSignature,
      message: "[RELEASE] Error: the signature over SHA256SUMS does not verify with the Carapace release key",
    },
  ];
  for (const { name, dir, message } of tampered) {
    test(`${name} is refused and the installed version keeps running`, async () => {
      const s = installedV1();
      const before = installState(s);
      server.latest = dir();
      try {
        const result = await update(s);
        expect(result.exitCode).toBe(1);
        expect(result.stderr).toContain(message);
        expect(result.stderr).toContain("Fix: ");
      } finally {
        server.latest = fixture.v2;
      }
      expect(installState(s)).toEqual(before);
      expect(await version(s)).toBe("0.1.0");
      expect(stagingLeft(s)).toEqual([]);
    });
  }

  test("a download cut midway is refused and changes nothing", async () => {
    const s = installedV1();
    const before = installState(s);
    server.cutOff.add("carapace-linux-x64");
    try {
      const result = await update(s);
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toMatch(/\[RELEASE\] Error: (downloading|checksum mismatch).*carapace-linux-x64/);
    } finally {
      server.cutOff.clear();
    }
    expect(installState(s)).toEqual(before);
    expect(stagingLeft(s)).toEqual([]);
  });

  test("a redirect to plain http is refused before any request is sent in the clear, and changes nothing", async () => {
    const s = installedV1();
    const before = installState(s);
    server.plainRequests.length = 0;
    server.redirectToHttp.add("SHA256SUMS");
    try {
      const result = await update(s);
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toMatch(
        /\[RELEASE\] Error: .*SHA256SUMS redirected to http:\/\/127\.0\.0\.1:\d+\/.*, which is not https/,
      );
    } finally {
      server.redirectToHttp.clear();
    }
    expect(server.plainRequests).toEqual([]);
    expect(installState(s)).toEqual(before);
    expect(await version(s)).toBe("0.1.0");
  });

  test("usage errors: a plain-http mirror, a malformed version, no terminal and no --yes", async () => {
    const s = installedV1();
    const http = await carapace(s, ["update", "--yes", "--base-url", server.baseUrl.replace("https:", "http:")]);
    expect(http.exitCode).toBe(2);
    expect(http.stderr).toContain("[UPDATE] Error: the release base URL");
    const badVersion = await update(s, ["--yes", "--version", "latest"]);
    expect(badVersion.exitCode).toBe(2);
    expect(badVersion.stderr).toContain("[UPDATE] Error: --version latest is not a version");
    const unattended = await update(s, []);
    expect(unattended.exitCode).toBe(2);
    expect(unattended.stderr).toContain("needs a confirmation and stdin is not a terminal. Fix: pass --yes.");
    expect(await version(s)).toBe("0.1.0");
  });
});
