import { expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { provisionSessionDir, socketsRoot } from "../../src/container/sockets.ts";
import { SessionRegistry } from "../../src/core/sessions.ts";

test("a session whose bound socket cannot be handed to the agent leaves no listener, directory or session", () => {
  const home = mkdtempSync("/tmp/cps-");
  try {
    const registry = new SessionRegistry(home, () => {}, { maxMessageBytes: 64 * 1024, replyCacheSize: 16 });
    // A pre-started container's directory: claimed as it is, so the hand-over after bind is the first
    // step that reads the agent user, and it refuses this one.
    const reserved = "c".repeat(32);
    provisionSessionDir(home, reserved);
    expect(() => registry.open("team", "test", "not-a-user", reserved)).toThrow(/not uid:gid/);
    expect(registry.list()).toEqual([]);
    // The socket was bound before the refusal: its listener closed, its directory removed.
    expect(readdirSync(socketsRoot(home))).toEqual([]);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});
