import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CARAPACE_BIN, ensureBinaries } from "../../harness/binaries.ts";
import { startCore, tempHome } from "../../harness/core.ts";
import { runCommand } from "../../harness/run.ts";

/** One core per home: the lock in run/ decides, not a pid file that can name a reused pid or a zombie. */

function envFor(home: string): Record<string, string> {
  return { PATH: "/usr/bin:/bin", HOME: home, CARAPACE_HOME: home, NO_COLOR: "1", TMPDIR: "/tmp" };
}

function spawnStart(home: string) {
  const proc = Bun.spawn([CARAPACE_BIN, "start"], { env: envFor(home), stdout: "pipe", stderr: "pipe" });
  let out = "";
  const pump = async (s: ReadableStream<Uint8Array>) => {
    for await (const chunk of s) out += new TextDecoder().decode(chunk);
  };
  void pump(proc.stdout as ReadableStream<Uint8Array>);
  void pump(proc.stderr as ReadableStream<Uint8Array>);
  return { proc, output: () => out };
}

const carapace = (home: string, args: string[]) => runCommand([CARAPACE_BIN, ...args], { env: envFor(home) });

/** The state letter of a process from /proc (no `ps` needed), or null when there is no such process. */
function processState(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  } catch {
    return null;
  }
}

async function waitUntil(check: () => Promise<boolean> | boolean, ms = 15_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await Bun.sleep(50);
  }
  return false;
}

describe("one core per home", () => {
  test("two starts at the same instant: exactly one core runs, the other exits 1 and touches nothing", async () => {
    ensureBinaries();
    for (let round = 0; round < 3; round++) {
      const home = tempHome();
      const a = spawnStart(home);
      const b = spawnStart(home);
      // One of them gives up at once; the other keeps running.
      const first = await Promise.race([a.proc.exited.then(() => a), b.proc.exited.then(() => b)]);
      const survivor = first === a ? b : a;
      expect(first.proc.exitCode).toBe(1);
      expect(first.output()).toContain("a core is already running");
      expect(await waitUntil(async () => (await carapace(home, ["status", "--json"])).code === 0)).toBe(true);
      expect(survivor.proc.exitCode).toBeNull();
      // The loser deleted nothing of the winner's.
      expect(existsSync(join(home, "run/control.sock"))).toBe(true);
      expect(Number((await Bun.file(join(home, "run/core.pid")).text()).trim())).toBe(survivor.proc.pid);
      const stop = await carapace(home, ["stop"]);
      expect(stop.code).toBe(0);
      expect(await survivor.proc.exited).toBe(0);
      expect(first.output() + survivor.output()).not.toMatch(/panic|Uncaught/);
    }
  }, 90_000);

  test("a second start against a running core leaves its sockets and pid file alone", async () => {
    const core = await startCore();
    try {
      const again = await carapace(core.home, ["start"]);
      expect(again.code).toBe(1);
      expect(again.stderr).toContain(`(pid ${core.proc.pid})`);
      expect(existsSync(join(core.home, "run/control.sock"))).toBe(true);
      expect((await carapace(core.home, ["status", "--json"])).code).toBe(0);
    } finally {
      await core.stop();
    }
  });

  test("a stale pid file naming an unrelated live process does not block start, and stop does not touch that process", async () => {
    const home = tempHome();
    const bystander = Bun.spawn(["sleep", "60"]);
    try {
      await runCommand(["mkdir", "-p", join(home, "run")], { env: envFor(home) });
      writeFileSync(join(home, "run/core.pid"), `${bystander.pid}\n`);
      const stopNone = await carapace(home, ["stop"]);
      expect(stopNone.code).toBe(0);
      expect(stopNone.stdout).toContain("not running");
      expect(bystander.exitCode).toBeNull();
      writeFileSync(join(home, "run/core.pid"), `${bystander.pid}\n`);
      const core = await startCore({ home });
      await core.stop();
      expect(await core.proc.exited).toBe(0);
      expect(bystander.exitCode).toBeNull();
    } finally {
      bystander.kill();
    }
  });

  test("a pid file naming a zombie (a core just killed with -9, not yet reaped) does not block start", async () => {
    const home = tempHome();
    // The child exits once its parent has become `sleep`, which never reaps it: a zombie for as long as the
    // parent sleeps. (A child that exits before the exec would be reaped by bash, and no zombie left.)
    const script = 'p=$$; (while [ "$(cat /proc/$p/comm)" != sleep ]; do sleep 0.01; done) & echo $!; exec sleep 30';
    const parent = Bun.spawn(["bash", "-c", script], { stdout: "pipe" });
    try {
      const reader = (parent.stdout as ReadableStream<Uint8Array>).getReader();
      const zombie = Number(new TextDecoder().decode((await reader.read()).value).trim());
      expect(await waitUntil(() => processState(zombie) === "Z")).toBe(true);
      await runCommand(["mkdir", "-p", join(home, "run")], { env: envFor(home) });
      writeFileSync(join(home, "run/core.pid"), `${zombie}\n`);
      const core = await startCore({ home });
      await core.stop();
      expect(await core.proc.exited).toBe(0);
    } finally {
      parent.kill();
    }
  });

  test("after kill -9 the next start takes over at once: stale pid file and sockets are replaced", async () => {
    const first = await startCore();
    await first.kill();
    expect(existsSync(join(first.home, "run/control.sock"))).toBe(true);
    const second = await startCore({ home: first.home });
    expect((await second.carapace(["status", "--json"])).code).toBe(0);
    await second.stop();
    expect(await second.proc.exited).toBe(0);
  });
});
