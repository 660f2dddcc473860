import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { CORE_ALLOCATOR_ENV, missingAllocatorEnv, nulSeparated } from "../../src/platform/allocator-env.ts";
import { startCore } from "../harness/core.ts";

const OPTIONS = Object.entries(CORE_ALLOCATOR_ENV).map(([k, v]) => `${k}=${v}`);

function procList(pid: number, file: "environ" | "cmdline"): string[] {
  return nulSeparated(readFileSync(`/proc/${pid}/${file}`)).map((b) => b.toString());
}

describe("the core's allocator options", () => {
  test("only the names the environment lacks are added; a name set to anything, even empty, is kept", () => {
    expect(OPTIONS.length).toBeGreaterThan(0);
    expect(missingAllocatorEnv({})).toEqual(OPTIONS);
    const all = Object.fromEntries(Object.keys(CORE_ALLOCATOR_ENV).map((k) => [k, ""]));
    expect(missingAllocatorEnv(all)).toEqual([]);
    expect(missingAllocatorEnv({ ...CORE_ALLOCATOR_ENV })).toEqual([]);
  });

  test("a /proc list splits on NUL with the bytes kept, a last entry without NUL included", () => {
    const parts = nulSeparated(Buffer.from([0x61, 0, 0xff, 0x3d, 0x62, 0, 0, 0x63]));
    expect(parts.map((p) => [...p])).toEqual([[0x61], [0xff, 0x3d, 0x62], [], [0x63]]);
    expect(nulSeparated(Buffer.alloc(0))).toEqual([]);
  });

  // The options are read by mimalloc as a process starts, so `carapace start` makes itself again with them.
  test.skipIf(process.platform !== "linux")(
    "`carapace start` without them runs with them: same pid, same argv, the caller's environment plus the options only, output and exit code intact",
    async () => {
      const core = await startCore({ args: ["--trace-filter", "x"], env: { CARAPACE_TEST_MARK: "kept =\u00e9" } });
      try {
        const pid = core.proc.pid as number;
        const environ = procList(pid, "environ");
        const given = Object.entries(core.env).map(([k, v]) => `${k}=${v}`);
        expect(environ.sort()).toEqual([...given, ...OPTIONS].sort());
        expect(procList(pid, "cmdline").slice(1)).toEqual(["start", "--trace-filter", "x"]);
        // Named after its file in ps and pgrep, as a core started with the options is.
        expect(readFileSync(`/proc/${pid}/comm`, "utf8")).toBe("carapace\n");
        // Its stdout/stderr are still the pipes the harness reads.
        expect(core.messages()).toContain(`Carapace core running (pid ${pid}`);
        const second = await core.carapace(["start"]);
        expect(second.code).toBe(1);
        expect(second.stderr).toContain("[CORE] Error: a core is already running");
      } finally {
        await core.stop();
      }
      expect(core.proc.exitCode).toBe(0);
    },
    90_000,
  );

  test.skipIf(process.platform !== "linux")(
    "a caller's own value of an option is what the core runs with (no re-exec, no loop)",
    async () => {
      const own = Object.fromEntries(Object.keys(CORE_ALLOCATOR_ENV).map((k) => [k, "7"]));
      const core = await startCore({ env: own });
      try {
        const environ = procList(core.proc.pid as number, "environ");
        for (const [k] of Object.entries(CORE_ALLOCATOR_ENV)) {
          expect(environ.filter((e) => e.startsWith(`${k}=`))).toEqual([`${k}=7`]);
        }
      } finally {
        core.proc.kill("SIGTERM");
        await core.proc.exited;
      }
      expect(core.proc.exitCode).toBe(0);
    },
    90_000,
  );
});
