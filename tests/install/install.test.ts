/**
 * install.sh end to end: a real release (build/release/release.ts with a test key) served over
 * loopback HTTPS with a throwaway CA that curl is told about (CURL_CA_BUNDLE), HOME and TMPDIR in
 * temp directories. Every failure must abort with a clear message and leave the previous state.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { sha256Hex } from "../../src/release/checksums.ts";
import { acquireReleaseFixture, type ReleaseFixture, releaseReleaseFixture } from "../release/fixtures/releases.ts";
import { baseEnv, listTree, makeSandbox, run, type Sandbox } from "../release/fixtures/run.ts";
import { type ReleaseServer, startReleaseServer } from "../release/fixtures/server.ts";

const repoRoot = join(import.meta.dir, "../..");
const MARK = "# added by carapace install.sh";
let fixture: ReleaseFixture;
let server: ReleaseServer;
let installer: string;
const sandboxes: Sandbox[] = [];
/** A v0.1.0 install made once; tests that start from an existing install get a hard-linked copy. */
let baseV1: Sandbox;
setDefaultTimeout(60_000);

beforeAll(async () => {
  fixture = await acquireReleaseFixture();
  server = await startReleaseServer(fixture.tls, fixture.v2);
  server.versions.set("0.1.0", fixture.v1);
  server.versions.set("0.2.0", fixture.v2);
  installer = join(fixture.v2, "install.sh");
  baseV1 = sandbox();
  const made = await install(baseV1, ["--yes", "--version", "v0.1.0"]);
  if (made.exitCode !== 0) throw new Error(`base install failed: ${made.stderr}`);
}, 120_000);

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

/**
 * A sandbox holding the v0.1.0 install. Hard links are safe: install.sh never writes an installed
 * file in place (it renames new files over the old names).
 */
function withV1Installed(): Sandbox {
  const s = sandbox();
  rmSync(s.home, { recursive: true });
  const copy = Bun.spawnSync(["cp", "-al", baseV1.home, s.home]);
  if (copy.exitCode !== 0) throw new Error("cp -al failed");
  return s;
}

function install(s: Sandbox, args: string[] = [], env: Record<string, string> = {}) {
  return run(
    ["sh", installer, "--base-url", server.baseUrl, ...args],
    baseEnv(s, { CURL_CA_BUNDLE: fixture.tls.caFile, ...env }),
  );
}

function installedVersion(s: Sandbox): string {
  const out = Bun.spawnSync([join(s.carapaceHome, "bin/carapace"), "--version"], { stdout: "pipe" });
  return out.stdout.toString().trim();
}

function markedLines(file: string): string[] {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line.includes(MARK));
}

/** The install as it stands: every path with its content hash. */
function snapshot(s: Sandbox): Record<string, string> {
  if (!existsSync(s.carapaceHome)) return {};
  const state: Record<string, string> = {};
  for (const rel of listTree(s.carapaceHome)) {
    const path = join(s.carapaceHome, rel);
    state[rel] = statSync(path).isDirectory() ? "dir" : sha256Hex(readFileSync(path));
  }
  return state;
}

describe("fresh install", () => {
  test("installs the verified binaries, sets PATH for bash, and prints a boxed summary", async () => {
    const s = sandbox();
    const result = await install(s, ["--yes"]);
    expect(result.exitCode).toBe(0);
    expect(installedVersion(s)).toBe("0.2.0");
    const ipc = join(s.carapaceHome, "lib/ipc-linux-x64");
    expect(sha256Hex(readFileSync(ipc))).toBe(sha256Hex(readFileSync(join(fixture.v2, "ipc-linux-x64"))));
    expect(statSync(join(s.carapaceHome, "bin/carapace")).mode & 0o777).toBe(0o755);
    expect(statSync(s.carapaceHome).mode & 0o777).toBe(0o700);
    expect(result.stdout).toContain("| Carapace installed v0.2.0 (linux/x64)");
    expect(result.stdout).toContain("signature and checksums verified");
    expect(result.stdout).toContain("carapace setup");
    expect(result.stdout).toMatch(/^\+-+\+$/m);
    expect(markedLines(join(s.home, ".bashrc"))).toHaveLength(1);
    const onPath = Bun.spawnSync(["bash", "-c", ". ~/.bashrc; command -v carapace"], {
      env: baseEnv(s),
      stdout: "pipe",
    });
    expect(onPath.stdout.toString().trim()).toBe(join(s.carapaceHome, "bin/carapace"));
    expect(listTree(s.tmp)).toEqual([]);
  });

  test("piped into sh it runs non-interactively, with or without --yes", async () => {
    for (const tail of ["sh -s -- --yes", "sh -s -- --no-modify-path"]) {
      const s = sandbox();
      const env = baseEnv(s, { CURL_CA_BUNDLE: fixture.tls.caFile, CARAPACE_INSTALL_BASE_URL: server.baseUrl });
      const result = await run(["sh", "-c", `cat '${installer}' | ${tail}`], env);
      expect(result.exitCode).toBe(0);
      expect(installedVersion(s)).toBe("0.2.0");
      if (tail.endsWith("--no-modify-path")) {
        expect(result.stdout).toContain("PATH not changed (--no-modify-path)");
        expect(listTree(s.home).filter((p) => !p.startsWith(".carapace"))).toEqual([]);
      } else {
        expect(markedLines(join(s.home, ".bashrc"))).toHaveLength(1);
      }
    }
  });

  test("--dry-run verifies the release index and changes nothing", async () => {
    const s = sandbox();
    const result = await install(s, ["--dry-run", "--runtime", "podman"]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain("Dry run: nothing was changed");
    expect(result.stdout).toContain("would install carapace v0.2.0");
    expect(result.stdout).toContain(`would add to ${join(s.home, ".bashrc")}`);
    expect(result.stdout).toContain("would set runtime.engine = podman");
    expect(listTree(s.home)).toEqual([]);
    expect(listTree(s.tmp)).toEqual([]);
  });

  test("refuses a base URL that is not https", async () => {
    const s = sandbox();
    const result = await install(s, ["--yes", "--base-url", server.baseUrl.replace("https:", "http:")]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain("is not https://");
    expect(listTree(s.home)).toEqual([]);
  });
});

describe("PATH setup per shell", () => {
  const cases = [
    { shell: "/usr/bin/zsh", rc: ".zshrc" },
    { shell: "/usr/bin/fish", rc: ".config/fish/conf.d/carapace.fish" },
    { shell: "/bin/dash", rc: ".profile" },
  ];
  for (const { shell, rc } of cases) {
    test(`${shell.split("/").pop()}: one marked line in ~/${rc}, sourcing it puts carapace on PATH`, async () => {
      const s = sandbox();
      expect((await install(s, ["--yes"], { SHELL: shell })).exitCode).toBe(0);
      const file = join(s.home, rc);
      const lines = markedLines(file);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`'${join(s.carapaceHome, "bin")}'`);
      if (Bun.which(shell)) {
        const check = Bun.spawnSync([shell, "-c", `. '${file}'; command -v carapace`], {
          env: baseEnv(s),
          stdout: "pipe",
        });
        expect(check.stdout.toString().trim()).toBe(join(s.carapaceHome, "bin/carapace"));
      }
    });
  }
});

describe("an existing install", () => {
  test("upgrade, reinstall, refused downgrade, allowed downgrade", async () => {
    const s = withV1Installed();
    expect(installedVersion(s)).toBe("0.1.0");

    const upgrade = await install(s, ["--yes"]);
    expect(upgrade.exitCode).toBe(0);
    expect(upgrade.stdout).toContain("Carapace upgraded from v0.1.0 to v0.2.0");
    expect(installedVersion(s)).toBe("0.2.0");

    const reinstall = await install(s, ["--yes"]);
    expect(reinstall.exitCode).toBe(0);
    expect(reinstall.stdout).toContain("Carapace reinstalled v0.2.0");

    const refused = await install(s, ["--yes", "--version", "v0.1.0"]);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain(
      "[INSTALL] Error: v0.1.0 is older than the installed v0.2.0; downgrades are refused",
    );
    expect(installedVersion(s)).toBe("0.2.0");

    const allowed = await install(s, ["--yes", "--version", "v0.1.0", "--allow-downgrade"]);
    expect(allowed.exitCode).toBe(0);
    expect(allowed.stdout).toContain("downgraded from v0.2.0 to v0.1.0");
    expect(installedVersion(s)).toBe("0.1.0");
    const ours = markedLines(join(s.home, ".bashrc")).filter((l) => l.includes(`'${join(s.carapaceHome, "bin")}'`));
    expect(ours).toHaveLength(1);
  });

  test("a mirror answering --version v0.2.0 with another signed release is refused", async () => {
    const s = sandbox();
    server.versions.set("0.3.0", fixture.v2);
    try {
      const result = await install(s, ["--yes", "--version", "v0.3.0"]);
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toContain("asked for v0.3.0 but the signed release is v0.2.0");
      expect(listTree(s.home)).toEqual([]);
    } finally {
      server.versions.delete("0.3.0");
    }
  });

  test("interactive: the user can cancel an upgrade and nothing changes", async () => {
    if (!Bun.which("script")) throw new Error("util-linux `script` is needed to give install.sh a terminal");
    const s = withV1Installed();
    const before = snapshot(s);
    const command = `sh '${installer}' --base-url '${server.baseUrl}'`;
    const env = baseEnv(s, { CURL_CA_BUNDLE: fixture.tls.caFile });
    const result = await run(["script", "-qec", command, "/dev/null"], env, "n\n");
    expect(result.stdout).toContain("carapace v0.1.0 is installed. Upgrade to v0.2.0? [Y/n]");
    expect(result.stdout).toContain("Cancelled: nothing was changed.");
    expect(snapshot(s)).toEqual(before);
  });
});

describe("failures abort with a clear message and leave the previous install", () => {
  const failures: { name: string; arrange: () => () => void; message: RegExp }[] = [
    {
      name: "tampered binary",
      arrange: () => {
        server.latest = fixture.tamperedBinary;
        return () => (server.latest = fixture.v2);
      },
      message: /\[INSTALL\] Error: checksum mismatch for carapace-linux-x64 .*Fix: /,
    },
    {
      name: "tampered checksum file",
      arrange: () => {
        server.latest = fixture.tamperedChecksums;
        return () => (server.latest = fixture.v2);
      },
      message: /\[INSTALL\] Error: the signature over SHA256SUMS does not verify with the Carapace release key/,
    },
    {
      name: "signature by another key",
      arrange: () => {
        server.latest = fixture.foreignSignature;
        return () => (server.latest = fixture.v2);
      },
      message: /\[INSTALL\] Error: the signature over SHA256SUMS does not verify with the Carapace release key/,
    },
    {
      name: "download cut midway",
      arrange: () => {
        server.cutOff.add("carapace-linux-x64");
        return () => server.cutOff.clear();
      },
      message:
        /\[INSTALL\] Error: downloading https:\/\/127\.0\.0\.1:\d+\/releases\/latest\/download\/carapace-linux-x64 failed/,
    },
  ];

  for (const { name, arrange, message } of failures) {
    test(`${name}: over an existing install`, async () => {
      const s = withV1Installed();
      const before = snapshot(s);
      const rcBefore = readFileSync(join(s.home, ".bashrc"), "utf8");
      const restore = arrange();
      try {
        const result = await install(s, ["--yes"]);
        expect(result.exitCode).toBe(1);
        expect(result.stderr).toMatch(message);
      } finally {
        restore();
      }
      expect(snapshot(s)).toEqual(before);
      expect(installedVersion(s)).toBe("0.1.0");
      expect(readFileSync(join(s.home, ".bashrc"), "utf8")).toBe(rcBefore);
      expect(listTree(s.tmp)).toEqual([]);
    });
  }

  test("tampered binary on a fresh machine: no home, no rc file, no staging left", async () => {
    const s = sandbox();
    server.latest = fixture.tamperedBinary;
    try {
      const result = await install(s, ["--yes"]);
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toContain("checksum mismatch for carapace-linux-x64");
    } finally {
      server.latest = fixture.v2;
    }
    expect(listTree(s.home)).toEqual([]);
    expect(listTree(s.tmp)).toEqual([]);
  });

  test("the second rename fails (an immutable carapace binary): ipc, already renamed, is put back", async () => {
    if (process.getuid?.() !== 0 || !Bun.which("chattr"))
      throw new Error("root and e2fsprogs `chattr` are needed to make the installed binary immutable");
    const s = withV1Installed();
    const bin = join(s.carapaceHome, "bin/carapace");
    const ipc = join(s.carapaceHome, "lib/ipc-linux-x64");
    // Copies of their own: the hard-linked inodes are shared with the other tests' installs. Both
    // releases carry the same ipc, so the old one gets a marker to tell it from the new one.
    copyFileSync(bin, `${bin}.copy`);
    renameSync(`${bin}.copy`, bin);
    chmodSync(bin, 0o755);
    writeFileSync(`${ipc}.copy`, Buffer.concat([readFileSync(ipc), Buffer.from("previous install")]));
    renameSync(`${ipc}.copy`, ipc);
    chmodSync(ipc, 0o755);
    const before = snapshot(s);
    expect(sha256Hex(readFileSync(join(fixture.v2, "ipc-linux-x64")))).not.toBe(before["lib/ipc-linux-x64"]);
    const immutable = Bun.spawnSync(["chattr", "+i", bin], { stderr: "pipe" });
    if (immutable.exitCode !== 0) throw new Error(`chattr +i failed here: ${immutable.stderr.toString()}`);
    try {
      const result = await install(s, ["--yes"]);
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toContain(`[INSTALL] Error: cannot move the new file into ${bin}`);
      expect(result.stderr).toContain("rolled back: the previous install is unchanged");
      expect(result.stderr).not.toContain("could not restore");
    } finally {
      Bun.spawnSync(["chattr", "-i", bin]);
    }
    expect(snapshot(s)).toEqual(before);
    expect(installedVersion(s)).toBe("0.1.0");
    expect(sha256Hex(readFileSync(ipc))).toBe(before["lib/ipc-linux-x64"] as string);
    expect(listTree(s.tmp)).toEqual([]);
  });

  test("install directory not writable (an unprivileged user, a home dir owned by root)", async () => {
    if (!Bun.which("setpriv"))
      throw new Error("util-linux `setpriv` is needed to run install.sh as an unprivileged user");
    const s = sandbox();
    chownSync(s.home, 65534, 65534);
    mkdirSync(s.carapaceHome, { mode: 0o755 });
    const env = baseEnv(s, { CURL_CA_BUNDLE: fixture.tls.caFile });
    const argv = [
      "setpriv",
      "--reuid=65534",
      "--regid=65534",
      "--clear-groups",
      "sh",
      installer,
      "--base-url",
      server.baseUrl,
      "--yes",
    ];
    const result = await run(argv, env);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(`[INSTALL] Error: cannot create ${join(s.carapaceHome, "bin")}`);
    expect(result.stderr).toContain("never install with sudo");
    expect(listTree(s.carapaceHome)).toEqual([]);
    expect(existsSync(join(s.home, ".bashrc"))).toBe(false);
    expect(listTree(s.tmp)).toEqual([]);
  });
});

describe("--from-source", () => {
  test("builds both binaries in the checkout and installs them the same way", async () => {
    const s = sandbox();
    const env = baseEnv(s, { PATH: `${join(repoRoot, "node_modules/.bin")}:/usr/local/bin:/usr/bin:/bin` });
    const result = await run(["sh", join(repoRoot, "install.sh"), "--from-source", "--yes", "--no-modify-path"], env);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain(`built from ${repoRoot}`);
    const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { version: string };
    expect(installedVersion(s)).toBe(pkg.version);
    expect(existsSync(join(s.carapaceHome, "lib/ipc-linux-x64"))).toBe(true);
  }, 120_000);
});
