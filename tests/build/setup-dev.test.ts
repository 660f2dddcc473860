/**
 * build/setup-dev.sh on a clean machine as root with no stdin (how .ci/run calls it): every Debian package
 * it needs is asked of apt-get without a question. The script runs for real on a PATH where none of the
 * tools exist yet; apt-get, bun and npm there are recorders, so nothing is installed.
 */
import { afterAll, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = join(import.meta.dir, "../..");
const bin = mkdtempSync(join(tmpdir(), "carapace-setup-dev-"));
afterAll(() => rmSync(bin, { recursive: true, force: true }));

function recorder(name: string, body = ""): void {
  const path = join(bin, name);
  writeFileSync(
    path,
    `#!/bin/bash\n[ -t 0 ] && in=terminal || in=none\necho "\${0##*/} DEBIAN_FRONTEND=\${DEBIAN_FRONTEND:-} stdin=$in $*" >>"${bin}/calls"\n${body}\n`,
  );
  chmodSync(path, 0o755);
}

test.skipIf(process.getuid?.() !== 0)(
  "as root with no stdin, apt-get is run with -y and DEBIAN_FRONTEND=noninteractive; docker.io without recommends",
  () => {
    recorder("apt-get");
    recorder("bun", 'if [ "$1" = "--version" ]; then echo 1.4.5; fi');
    recorder("npm");
    for (const tool of ["dirname", "id", "bash"]) symlinkSync(Bun.which(tool) as string, join(bin, tool));
    const run = Bun.spawnSync(["/bin/bash", join(root, "build/setup-dev.sh")], {
      env: { PATH: bin, HOME: bin },
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(run.stderr.toString()).toBe("");
    expect(run.exitCode).toBe(0);
    const calls = readFileSync(join(bin, "calls"), "utf8").trim().split("\n");
    const apt = calls.filter((c) => c.startsWith("apt-get "));
    expect(apt[0]).toBe("apt-get DEBIAN_FRONTEND= stdin=none update -qq");
    const installs = apt.filter((c) => c.includes(" install "));
    expect(installs).toHaveLength(2);
    for (const line of installs) {
      expect(line).toStartWith("apt-get DEBIAN_FRONTEND=noninteractive stdin=none install -y ");
    }
    for (const pkg of ["podman", "runc", "debootstrap", "bubblewrap", "podman-compose", "shellcheck"]) {
      expect(installs[0]?.split(" ")).toContain(pkg);
    }
    expect(installs[1]).toEndWith("install -y -qq --no-install-recommends docker.io");
    expect(calls.slice(-2)).toEqual([
      "bun DEBIAN_FRONTEND= stdin=none install --frozen-lockfile",
      "bun DEBIAN_FRONTEND= stdin=none run build",
    ]);
  },
);
