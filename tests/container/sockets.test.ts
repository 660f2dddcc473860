import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  assertSocketPathFits,
  claimSessionDir,
  cleanStaleSessionDirs,
  provisionSessionDir,
  removeSessionDir,
  socketsRoot,
} from "../../src/container/sockets.ts";

let home: string;
beforeEach(() => {
  // Under /tmp whatever TMPDIR says: the session socket path under it must fit sun_path.
  home = mkdtempSync("/tmp/cs-");
});
afterEach(() => rmSync(home, { recursive: true, force: true }));

describe("session socket directories", () => {
  test("provisions <home>/run/sockets/<id> with 0700 on every level we create", () => {
    const { dir, requestSocketPath } = provisionSessionDir(home, "sess-1");
    expect(dir).toBe(join(home, "run", "sockets", "sess-1"));
    expect(requestSocketPath).toBe(join(dir, "request.sock"));
    for (const p of [join(home, "run"), socketsRoot(home), dir]) expect(statSync(p).mode & 0o777).toBe(0o700);
  });

  test("hands the directory to the agent's uid when running as root", () => {
    const { dir } = provisionSessionDir(home, "sess-own", "65534:65534");
    const expected = process.getuid?.() === 0 ? 65534 : process.getuid?.();
    expect(statSync(dir).uid).toBe(expected as number);
  });

  test("a pre-started container's directory is claimed as it is, and only while it is still empty", () => {
    const { dir } = provisionSessionDir(home, "sess-warm");
    expect(claimSessionDir(home, "sess-warm")).toEqual({ dir, requestSocketPath: join(dir, "request.sock") });
    writeFileSync(join(dir, "request.sock"), "");
    expect(() => claimSessionDir(home, "sess-warm")).toThrow("is not empty");
    expect(() => claimSessionDir(home, "sess-none")).toThrow("does not exist");
    mkdirSync(join(home, "elsewhere"));
    symlinkSync(join(home, "elsewhere"), join(socketsRoot(home), "sess-link"));
    expect(() => claimSessionDir(home, "sess-link")).toThrow("is not a directory");
    expect(() => claimSessionDir(home, "../x")).toThrow("not a safe directory name");
  });

  test("a leftover directory of the same session is replaced by a fresh empty one", () => {
    const { dir } = provisionSessionDir(home, "sess-2");
    writeFileSync(join(dir, "stale.sock"), "");
    provisionSessionDir(home, "sess-2");
    expect(existsSync(join(dir, "stale.sock"))).toBe(false);
  });

  test("refuses a symlinked sockets directory", () => {
    mkdirSync(join(home, "run"), { mode: 0o700 });
    const elsewhere = mkdtempSync(join(tmpdir(), "cs-target-"));
    symlinkSync(elsewhere, socketsRoot(home));
    expect(() => provisionSessionDir(home, "s")).toThrow(/\[CONTAINER\] Error: .* is a symlink\. Fix:/);
    rmSync(elsewhere, { recursive: true, force: true });
  });

  test("refuses unsafe session ids", () => {
    expect(() => provisionSessionDir(home, "../escape")).toThrow(/not a safe directory name/);
    expect(() => provisionSessionDir(home, "")).toThrow(/not a safe directory name/);
  });

  test("checks the 108-byte Unix socket limit (NUL included) with a clear error", () => {
    expect(() => assertSocketPathFits(`/${"a".repeat(106)}`)).not.toThrow();
    expect(() => assertSocketPathFits(`/${"a".repeat(107)}`)).toThrow(
      /109 bytes.*108-byte limit.*Fix: use a shorter CARAPACE_HOME/,
    );
    const deep = join(home, "x".repeat(80));
    expect(() => provisionSessionDir(deep, "sess-3")).toThrow(/108-byte limit/);
  });

  test("removes a session directory with its contents; a symlink inside is unlinked, not followed", () => {
    const outside = mkdtempSync(join(tmpdir(), "cs-outside-"));
    writeFileSync(join(outside, "keep"), "x");
    const { dir } = provisionSessionDir(home, "sess-4");
    symlinkSync(outside, join(dir, "link"));
    removeSessionDir(home, "sess-4");
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(join(outside, "keep"))).toBe(true);
    rmSync(outside, { recursive: true, force: true });
  });

  test("start-up cleanup removes every session directory that is not live", () => {
    provisionSessionDir(home, "dead-1");
    provisionSessionDir(home, "dead-2");
    provisionSessionDir(home, "live-1");
    expect(cleanStaleSessionDirs(home, ["live-1"]).sort()).toEqual(["dead-1", "dead-2"]);
    expect(existsSync(join(socketsRoot(home), "live-1"))).toBe(true);
    expect(existsSync(join(socketsRoot(home), "dead-1"))).toBe(false);
  });
});
