/**
 * The self-test always ends: a core that never answers is reported as not ready, a core that ignores
 * `stop` is killed after the grace period, and a command that hangs is killed at its timeout. The
 * "carapace" here is a small script standing in for the binary.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCarapace, startTempCore } from "../../../src/doctor/attack/temp-core.ts";

const dir = mkdtempSync(join(tmpdir(), "temp-core-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** start: prints a line to stderr and sleeps, ignoring SIGTERM; status: fails; stop: succeeds; hang: sleeps. */
function fakeCarapace(): string {
  const bin = join(dir, "carapace");
  writeFileSync(
    bin,
    `#!/bin/sh
case "$1" in
  start) trap '' TERM; echo "core says: listening nowhere" >&2; while :; do sleep 1; done ;;
  status) exit 1 ;;
  stop) exit 0 ;;
  hang) exec sleep 60 ;;
esac
`,
  );
  chmodSync(bin, 0o755);
  return bin;
}

describe("doctor --attack temporary core", () => {
  const env = { PATH: "/usr/bin:/bin" };

  test("a core that never answers is not ready; one that ignores stop is killed; its stderr tail is kept", async () => {
    const core = startTempCore(fakeCarapace(), env);
    expect(await core.ready(600)).toBe(false);
    // The line is read from the pipe as it comes; on a loaded machine it may come after the 600 ms.
    for (let i = 0; i < 1000 && !core.stderrTail().includes("core says"); i++) await Bun.sleep(10);
    expect(core.stderrTail()).toContain("core says: listening nowhere");
    await core.stop(300);
  });

  test("a command that does not end is killed at its timeout and says so", async () => {
    const r = await runCarapace(fakeCarapace(), ["hang"], env, 300);
    expect(r.timedOut).toBe(true);
    expect(r.code).not.toBe(0);
    const ok = await runCarapace(fakeCarapace(), ["stop"], env, 30_000);
    expect(ok).toEqual({ code: 0, stdout: "", stderr: "", timedOut: false });
  });
});
