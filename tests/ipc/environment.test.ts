import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkIpcEnvironment, RUNTIME_VARIABLES } from "../../src/ipc/environment.ts";
import { refuseForeignRuntime } from "../../src/ipc/main.ts";

const dir = mkdtempSync(join(tmpdir(), "ipc-env-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the environment ipc accepts", () => {
  test("an ordinary session environment passes", () => {
    expect(checkIpcEnvironment({ CARAPACE_SOCKET: "/run/carapace/request.sock", HOME: "/home/agent" })).toEqual({
      ok: true,
    });
  });

  test("every runtime variable is refused when set, and passes when empty", () => {
    for (const name of RUNTIME_VARIABLES) {
      expect(checkIpcEnvironment({ [name]: "1" })).toEqual({
        ok: false,
        variable: name,
        why: "it would make ipc run code other than its own",
      });
      expect(checkIpcEnvironment({ [name]: "" })).toEqual({ ok: true });
    }
  });

  test("CARAPACE_LIBZMQ must name a file the caller could not have planted", () => {
    const open = join(dir, "open.so");
    writeFileSync(open, "x");
    chmodSync(open, 0o666);
    const link = join(dir, "link.so");
    symlinkSync(open, link);
    for (const path of [open, link, join(dir, "missing.so"), dir, "/tmp"]) {
      const verdict = checkIpcEnvironment({ CARAPACE_LIBZMQ: path });
      expect(verdict.ok).toBe(false);
      if (!verdict.ok) expect(verdict.variable).toBe("CARAPACE_LIBZMQ");
    }
  });

  test("a root-owned library in a root-owned directory is accepted (the image's /usr/local/lib/carapace)", () => {
    const libc = ["/usr/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/aarch64-linux-gnu/libc.so.6", "/lib/libc.so.6"];
    const present = libc.find((p) => checkIpcEnvironment({ CARAPACE_LIBZMQ: p }).ok);
    expect(present).toBeDefined();
  });

  test("refuseForeignRuntime answers exit 2 with the variable to unset, or null", () => {
    const written: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((s: string) => written.push(s) > 0) as typeof process.stderr.write;
    try {
      expect(refuseForeignRuntime({ BUN_OPTIONS: "--smol" })).toBe(2);
      expect(refuseForeignRuntime({})).toBeNull();
    } finally {
      process.stderr.write = write;
    }
    expect(written).toEqual([
      "[IPC] Error: BUN_OPTIONS is set and it would make ipc run code other than its own. Fix: unset BUN_OPTIONS.\n",
    ]);
  });
});
