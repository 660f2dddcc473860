import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ensureBinaries } from "../harness/binaries.ts";
import { type RunningCore, startCore, tempHome, waitForAudit } from "../harness/core.ts";
import { rawRequest, wire } from "../harness/raw.ts";

function errorOf(reply: Record<string, unknown> | null): Record<string, unknown> {
  expect(reply).not.toBeNull();
  return (reply as Record<string, unknown>).error as Record<string, unknown>;
}

describe("walking skeleton through the compiled binaries", () => {
  let core: RunningCore;
  let socket: string;

  beforeAll(async () => {
    core = await startCore({
      config: "[security]\nrate_limit_per_minute = 6000\nrate_limit_burst = 100\nmax_inflight_per_session = 64\n",
    });
    socket = (await core.openSession("skeleton")).socket;
  });
  afterAll(async () => {
    await core.stop();
  });

  test("binaries copied alone into an empty dir answer hello.echo with no bun on PATH", async () => {
    const bins = ensureBinaries();
    const dir = mkdtempSync("/tmp/cpb-");
    {
      copyFileSync(bins.carapace, join(dir, "carapace"));
      copyFileSync(bins.ipc, join(dir, "ipc"));
      Bun.spawnSync(["chmod", "755", join(dir, "carapace"), join(dir, "ipc")]);
      const home = tempHome();
      // PATH holds only the two binaries: no bun, no node, no node_modules.
      const env = { PATH: dir, HOME: home, CARAPACE_HOME: home, TMPDIR: "/tmp" };
      expect(Bun.spawnSync(["/bin/sh", "-c", "command -v bun node || true"], { env }).stdout.toString()).toBe("");
      const core2 = Bun.spawn([join(dir, "carapace"), "start"], { env, cwd: dir, stdout: "ignore", stderr: "ignore" });
      try {
        let opened: { socket: string } | null = null;
        for (let i = 0; i < 200 && !opened; i++) {
          const r = Bun.spawnSync([join(dir, "carapace"), "session", "open", "--json"], { env, cwd: dir });
          if (r.exitCode === 0) opened = JSON.parse(r.stdout.toString());
          else await Bun.sleep(50);
        }
        expect(opened).not.toBeNull();
        const r = Bun.spawnSync([join(dir, "ipc"), "hello.echo", '{"message":"hi"}'], {
          env: { ...env, CARAPACE_SOCKET: (opened as { socket: string }).socket },
          cwd: dir,
        });
        expect(r.exitCode).toBe(0);
        expect(JSON.parse(r.stdout.toString())).toEqual({ message: "hi" });
        const stop = Bun.spawn([join(dir, "carapace"), "stop"], { env, cwd: dir });
        expect(await stop.exited).toBe(0);
        await core2.exited;
      } finally {
        core2.kill();
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });

  test("50 concurrent ipc processes are all answered correctly", async () => {
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => core.ipc(socket, "hello.echo", { message: `m${i}` })),
    );
    results.forEach((r, i) => {
      if (r.stderr !== "") console.log(core.output());
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.json).toEqual({ message: `m${i}` });
    });
  });

  test("arguments may come on stdin", async () => {
    const r = await core.ipc(socket, "hello.echo", undefined, { stdin: '{"message":"from stdin"}' });
    expect(r.code).toBe(0);
    expect(r.json).toEqual({ message: "from stdin" });
  });

  test("a malformed frame gets VALIDATION_FAILED and the core keeps serving", async () => {
    const reply = rawRequest(socket, "{not json");
    expect(reply?.kind).toBe("error");
    expect(errorOf(reply).code).toBe("VALIDATION_FAILED");
    expect(errorOf(reply).stage).toBe(3);
    await waitForAudit(
      core,
      "skeleton",
      (r) =>
        r.kind === "rejected" &&
        r.code === "VALIDATION_FAILED" &&
        String((r.detail as Record<string, unknown>)?.reason).includes("JSON"),
    );
    expect((await core.ipc(socket, "hello.echo", { message: "still here" })).code).toBe(0);
  });

  test("a 2 MiB frame is rejected before parsing and the core keeps serving", async () => {
    const big = wire("tool.invoke.hello.echo", { message: "x".repeat(2 * 1024 * 1024) });
    const reply = rawRequest(socket, big);
    expect(errorOf(reply).code).toBe("VALIDATION_FAILED");
    expect(String(errorOf(reply).message)).toContain("larger than");
    expect((await core.ipc(socket, "hello.echo", { message: "still here" })).code).toBe(0);
  });

  test("a 100-level-deep frame is rejected and the core keeps serving", async () => {
    const deep = `{"topic":"tool.invoke.hello.echo","correlation":"${crypto.randomUUID()}","arguments":{"message":"a","x":${"[".repeat(100)}${"]".repeat(100)}}}`;
    const reply = rawRequest(socket, deep);
    expect(errorOf(reply).code).toBe("VALIDATION_FAILED");
    expect(String(errorOf(reply).message)).toContain("deeper");
    expect((await core.ipc(socket, "hello.echo", { message: "still here" })).code).toBe(0);
  });

  test("ipc exit codes: tool error 1, usage 2, transport 3", async () => {
    expect((await core.ipc(socket, "hello.echo", { nope: 1 })).code).toBe(1);
    expect((await core.ipc(socket, "hello.echo", undefined, { stdin: "[1,2]" })).code).toBe(2);
    expect((await core.ipc("/tmp/no-such-socket.sock", "hello.echo", { message: "x" })).code).toBe(3);
  });

  test("status reports the running core as JSON", async () => {
    const r = await core.carapace(["status", "--json"]);
    expect(r.code).toBe(0);
    expect(r.json?.running).toBe(true);
  });
});

describe("lifecycle of the core", () => {
  test("stop leaves no socket files and no process behind", async () => {
    const core = await startCore();
    const s = await core.openSession("life");
    expect(existsSync(s.socket)).toBe(true);
    await core.stop();
    expect(core.proc.exitCode).toBe(0);
    const left = readdirSync(join(core.home, "run"), { recursive: true }).map(String);
    expect(left.filter((f) => f.endsWith(".sock") || f.endsWith(".pid"))).toEqual([]);
    const status = await core.carapace(["status"]);
    expect(status.code).toBe(3);
  });

  test("a stale socket from a killed core is cleaned at the next start", async () => {
    const core = await startCore();
    const s = await core.openSession("stale");
    await core.kill();
    expect(existsSync(s.socket)).toBe(true);
    const again = await startCore({ home: core.home });
    try {
      expect(existsSync(s.socket)).toBe(false);
      const r = await again.ipc(s.socket, "hello.echo", { message: "x" });
      expect(r.code).toBe(3);
      const fresh = await again.openSession("stale");
      const ok = await again.ipc(fresh.socket, "hello.echo", { message: "ok" });
      expect(ok.stderr).toBe("");
      expect(ok.code).toBe(0);
    } finally {
      await again.stop();
    }
  });

  test("a second start against a running core is refused", async () => {
    const core = await startCore();
    try {
      const r = await core.carapace(["start"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("[CORE] Error: a core is already running");
      expect((await core.carapace(["status"])).code).toBe(0);
    } finally {
      await core.stop();
    }
  });

  test("an ended session's socket is gone: ipc fails at transport level", async () => {
    const core = await startCore();
    try {
      const s = await core.openSession("ending");
      await core.closeSession(s.id);
      expect((await core.ipc(s.socket, "hello.echo", { message: "x" })).code).toBe(3);
      await waitForAudit(
        core,
        "ending",
        (r) => r.kind === "session" && (r.detail as Record<string, unknown>)?.event === "closed",
      );
    } finally {
      await core.stop();
    }
  });
});
