import { afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { controlStream, untilCoreAnswers } from "../../src/cli/control-client.ts";
import { controlSocketPath } from "../../src/core/control.ts";
import { acquireCoreLock } from "../../src/core/core-lock.ts";
import { ZmqSocket } from "../../src/transport/socket.ts";
import { startCore } from "../harness/core.ts";

/** A long wait on the control socket (`carapace prompt`) notices a core that is gone. */

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function homeWithSilentControlSocket(): string {
  const home = mkdtempSync("/tmp/cc-");
  mkdirSync(join(home, "run"), { recursive: true });
  // Something still listens on the socket but never answers: a core that hung or died mid-task.
  const router = new ZmqSocket("ROUTER", {});
  router.bind(`ipc://${controlSocketPath(home)}`);
  cleanups.push(() => {
    router.close();
    rmSync(home, { recursive: true, force: true });
  });
  return home;
}

describe("controlStream", () => {
  test("no core holds the home's lock: gives up at once instead of waiting out the idle timeout", () => {
    const home = homeWithSilentControlSocket();
    expect(() => controlStream(home, "prompt", {}, () => {}, 15 * 60_000)).toThrow(/the core stopped while waiting/);
  });

  test("a core that holds the lock but stays silent: waits until the idle timeout", () => {
    const home = homeWithSilentControlSocket();
    const lock = acquireCoreLock(home);
    cleanups.push(() => lock?.release());
    expect(lock).not.toBeNull();
    expect(() => controlStream(home, "prompt", {}, () => {}, 1_500)).toThrow(/no word from the core for 2 s/);
  });
});

describe("untilCoreAnswers", () => {
  test("the started process exited: false at once, however long the wait could be", async () => {
    const home = mkdtempSync("/tmp/cc-");
    cleanups.push(() => rmSync(home, { recursive: true, force: true }));
    // The wait is longer than the test may take: only the exit ends it.
    expect(await untilCoreAnswers(home, { exitCode: 1 }, 600_000)).toBe(false);
  }, 20_000);

  test("a socket that never answers: false once the wait is over", async () => {
    const home = homeWithSilentControlSocket();
    expect(await untilCoreAnswers(home, { exitCode: null }, 500)).toBe(false);
  });

  test("a running core: true", async () => {
    const core = await startCore();
    try {
      expect(await untilCoreAnswers(core.home, { exitCode: null }, 20_000)).toBe(true);
    } finally {
      await core.stop();
    }
  }, 60_000);
});
