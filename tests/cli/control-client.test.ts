import { afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { controlStream } from "../../src/cli/control-client.ts";
import { controlSocketPath } from "../../src/core/control.ts";
import { acquireCoreLock } from "../../src/core/core-lock.ts";
import { ZmqSocket } from "../../src/transport/socket.ts";

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
