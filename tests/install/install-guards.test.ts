/**
 * What docs/INSTALL_SECURITY.md says install.sh does, each checked through the script itself against a
 * loopback HTTPS release server: it never follows a redirect to plain http, stops without OpenSSL 3
 * (there is no way to skip the signature), writes no PATH line for a directory with a quote in it, and
 * warns when run as root.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { acquireReleaseFixture, type ReleaseFixture, releaseReleaseFixture } from "../release/fixtures/releases.ts";
import { baseEnv, listTree, makeSandbox, run, type Sandbox } from "../release/fixtures/run.ts";
import { type ReleaseServer, startReleaseServer } from "../release/fixtures/server.ts";

setDefaultTimeout(120_000);
let fixture: ReleaseFixture;
let server: ReleaseServer;
const sandboxes: Sandbox[] = [];

beforeAll(async () => {
  fixture = await acquireReleaseFixture();
  server = await startReleaseServer(fixture.tls, fixture.v2);
}, 180_000);

afterAll(async () => {
  await server?.close();
  for (const s of sandboxes) rmSync(s.dir, { recursive: true, force: true });
  await releaseReleaseFixture();
});

function sandbox(): Sandbox {
  const s = makeSandbox();
  sandboxes.push(s);
  return s;
}

function install(s: Sandbox, args: string[], env: Record<string, string> = {}) {
  return run(
    ["sh", join(fixture.v2, "install.sh"), "--base-url", server.baseUrl, "--yes", ...args],
    baseEnv(s, { CURL_CA_BUNDLE: fixture.tls.caFile, NO_COLOR: "1", ...env }),
  );
}

describe("install.sh guards", () => {
  test("a redirect to plain http is not followed: nothing is installed", async () => {
    const s = sandbox();
    server.redirectToHttp.add("SHA256SUMS");
    try {
      const r = await install(s, []);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/\[INSTALL\] Error: downloading https:\/\/127\.0\.0\.1:\d+\/.*SHA256SUMS failed/);
    } finally {
      server.redirectToHttp.clear();
    }
    expect(listTree(s.home)).toEqual([]);
  });

  test("without OpenSSL 3 (here an openssl that reports LibreSSL) it stops before installing", async () => {
    const s = sandbox();
    const bin = join(s.dir, "fake-bin");
    mkdirSync(bin);
    writeFileSync(join(bin, "openssl"), "#!/bin/sh\necho 'LibreSSL 3.3.6'\n", { mode: 0o755 });
    const r = await install(s, [], { PATH: `${bin}:/usr/local/bin:/usr/bin:/bin` });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("[INSTALL] Error: OpenSSL 3 was not found; it is needed to check the release signature");
    expect(r.stderr).toContain("(there is no way to skip it)");
    expect(existsSync(join(s.carapaceHome, "bin/carapace"))).toBe(false);
  });

  test("a bin directory with a quote in its path gets no PATH line; the user is told to add it", async () => {
    const s = sandbox();
    const home = join(s.home, "it's here");
    const r = await install(s, [], { CARAPACE_HOME: home });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain(`PATH not changed: ${home}/bin contains a quote; add it to PATH yourself`);
    expect(existsSync(join(s.home, ".bashrc"))).toBe(false);
    expect(existsSync(join(home, "bin/carapace"))).toBe(true);
  });

  test("run as root it warns and goes on; as another user it does not warn", async () => {
    const s = sandbox();
    const r = await install(s, ["--no-modify-path"]);
    expect(r.exitCode).toBe(0);
    const warning = "[INSTALL] Warning: running as root: Carapace is meant to be installed and run as your own user";
    if (process.getuid?.() === 0) expect(r.stderr).toContain(warning);
    else expect(r.stderr).not.toContain(warning);
  });
});
