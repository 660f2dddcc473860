import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { startCore, sweepDeadRunHomes, tempHome } from "../harness/core.ts";

/** Every Unix socket file under `dir`. */
function socketsUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .map((rel) => join(dir, rel))
    .filter((path) => statSync(path, { throwIfNoEntry: false })?.isSocket() === true);
}

describe("the integration harness", () => {
  test("startCore runs a real core on real sockets; stop leaves no process and no socket behind", async () => {
    const core = await startCore();
    let stopped = false;
    try {
      const session = await core.openSession("kit");
      const r = await core.ipc(session.socket, "hello.echo", { message: "kit" });
      expect(r).toMatchObject({ code: 0, json: { message: "kit" } });
      expect(socketsUnder(join(core.home, "run")).length).toBeGreaterThan(0);
      await core.stop();
      stopped = true;
      expect(core.proc.exitCode).toBe(0);
      expect(socketsUnder(core.home)).toEqual([]);
    } finally {
      if (!stopped) await core.kill();
    }
  });

  test("temp homes of a test process that died are swept; live ones are kept", () => {
    const mine = tempHome();
    // A child that makes a home and is killed before any clean-up can run (as `bun test` exits).
    const child = Bun.spawnSync(
      [
        process.execPath,
        "-e",
        `const { tempHome } = await import(${JSON.stringify(join(import.meta.dir, "../harness/core.ts"))});
         console.log(tempHome()); process.kill(process.pid, "SIGKILL");`,
      ],
      { stdout: "pipe", stderr: "pipe" },
    );
    const leaked = child.stdout.toString().trim();
    expect(leaked).toStartWith("/tmp/cph-");
    expect(existsSync(leaked)).toBe(true);
    const removed = sweepDeadRunHomes();
    expect(removed).toContain(leaked.slice("/tmp/".length));
    expect(existsSync(leaked)).toBe(false);
    expect(existsSync(mine)).toBe(true);
  });
});
