import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ensureBinaries } from "../harness/binaries.ts";
import { startCore } from "../harness/core.ts";

const mountPoint = mkdtempSync("/tmp/cpnx-");
const mounted = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "noexec,size=16m", "tmpfs", mountPoint]).exitCode === 0;
if (!mounted)
  console.log("[skip] cannot mount a noexec tmpfs here (needs root); the $TMPDIR fallback is not exercised");

afterAll(() => {
  if (mounted) Bun.spawnSync(["umount", mountPoint]);
  rmSync(mountPoint, { recursive: true, force: true });
});

test.skipIf(!mounted)("with a noexec $TMPDIR, ipc loads libzmq from a copy under $CARAPACE_HOME/cache", async () => {
  const core = await startCore();
  try {
    const { ipc } = ensureBinaries();
    const s = await core.openSession("noexec");
    const home = mkdtempSync("/tmp/cpnh-");
    mkdirSync(join(home, "cache"), { recursive: true });
    const r = Bun.spawnSync([ipc, "hello.echo", '{"message":"noexec"}'], {
      env: { PATH: "/usr/bin:/bin", CARAPACE_SOCKET: s.socket, CARAPACE_HOME: home, TMPDIR: mountPoint },
    });
    expect(r.stderr.toString()).toBe("");
    expect(JSON.parse(r.stdout.toString())).toEqual({ message: "noexec" });
    expect(readdirSync(join(home, "cache")).some((f) => f.startsWith("libzmq-") && f.endsWith(".so"))).toBe(true);
    rmSync(home, { recursive: true, force: true });
  } finally {
    await core.stop();
  }
});
