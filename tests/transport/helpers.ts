import { afterEach } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";

const decoder = new TextDecoder();

export function text(bytes: Uint8Array | undefined): string {
  return bytes ? decoder.decode(bytes) : "";
}

/** A private temp dir for ipc:// endpoints; `endpoint(name)` puts the socket in a `sockets/` subdir. */
export interface SocketDir {
  root: string;
  endpoint(name: string): string;
  path(name: string): string;
  cleanup(): void;
}

export function socketDir(): SocketDir {
  // Under /tmp with a short prefix, whatever TMPDIR says: an ipc path must fit sun_path (107 bytes).
  const root = mkdtempSync("/tmp/cpt-");
  const path = (name: string) => join(root, "sockets", name);
  return {
    root,
    path,
    endpoint: (name) => `ipc://${path(name)}`,
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

/**
 * For a test file: sockets passed to `track` are closed, and dirs made by `newDir` removed, after each
 * test. Call once at the top of the file.
 */
export function cleanUpAfterEach(): { track<T extends { close(): void }>(socket: T): T; newDir(): SocketDir } {
  const open: { close(): void }[] = [];
  const dirs: SocketDir[] = [];
  afterEach(() => {
    for (const s of open.splice(0)) s.close();
    for (const d of dirs.splice(0)) d.cleanup();
  });
  return {
    track(socket) {
      open.push(socket);
      return socket;
    },
    newDir() {
      const d = socketDir();
      dirs.push(d);
      return d;
    },
  };
}

/** Polls `condition` on the event loop until it holds; fails with `what` after `timeoutMs` (generous: load). */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await Bun.sleep(2);
  }
}

export function bytes(...values: number[]): Uint8Array {
  return new Uint8Array(values);
}

/** Every byte value once, so a frame survives only if it is carried as binary, not text. */
export function allByteValues(): Uint8Array {
  return Uint8Array.from({ length: 256 }, (_, i) => i);
}
