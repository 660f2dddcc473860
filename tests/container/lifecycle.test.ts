import { describe, expect, test } from "bun:test";
import { MockRuntime, type MockScenario } from "../../src/container/adapters/mock.ts";
import { ContainerLifecycle } from "../../src/container/lifecycle.ts";
import { LABELS } from "../../src/container/paths.ts";
import type { RunSpec } from "../../src/container/runtime.ts";

function spec(name: string): RunSpec {
  return {
    name,
    image: "img",
    args: [],
    labels: { [LABELS.managed]: "true", [LABELS.instance]: "home1" },
    mounts: [],
    env: {},
    user: "65534:65534",
    network: "none",
    readOnlyRoot: true,
    dropAllCapabilities: true,
    noNewPrivileges: true,
    limits: { memoryBytes: 1, pids: 1, nofile: 1, nproc: 1 },
  };
}

function setup(scenario: MockScenario) {
  const runtime = new MockRuntime({ scenario: () => scenario, msPerSecond: 5 });
  const logs: string[] = [];
  const lifecycle = new ContainerLifecycle(runtime, {
    stopTimeoutMs: 10_000,
    settleMs: 20,
    log: (_l, m) => logs.push(m),
  });
  return { runtime, lifecycle, logs };
}

describe("ContainerLifecycle (mock runtime)", () => {
  test("writes the stdin payload then closes stdin, streams output, removes the container on exit", async () => {
    const { runtime, lifecycle } = setup({ kind: "run", stdout: ['{"type":"result"}\n'], stderr: ["warn\n"] });
    const out: string[] = [];
    const err: string[] = [];
    const c = lifecycle.spawn(spec("a"), {
      stdin: "ANTHROPIC_API_KEY\ntok\n",
      onStdout: (s) => out.push(s),
      onStderr: (s) => err.push(s),
    });
    const exit = await c.exited;
    expect(exit).toMatchObject({ name: "a", code: 0, reason: "exited" });
    expect(out).toEqual(['{"type":"result"}\n']);
    expect(err).toEqual(["warn\n"]);
    const record = runtime.containers.get("a");
    expect(record?.stdin).toBe("ANTHROPIC_API_KEY\ntok\n");
    expect(record?.stdinClosed).toBe(true);
    expect(runtime.leaked()).toEqual([]);
    expect(lifecycle.running()).toEqual([]);
  });

  test("a spawn failure is reported as such, with the runtime's message", async () => {
    const { lifecycle, runtime, logs } = setup({ kind: "spawn-failure", message: "image not known" });
    const exit = await lifecycle.spawn(spec("b")).exited;
    expect(exit.reason).toBe("spawn-failed");
    expect(exit.code).toBe(125);
    expect(exit.stderrTail).toContain("image not known");
    expect(logs.join("\n")).toContain("failed to start");
    expect(runtime.leaked()).toEqual([]);
  });

  test("a crash ends the container with its exit code and it is still removed", async () => {
    const { lifecycle, runtime } = setup({ kind: "crash", code: 139, afterMs: 5 });
    const exit = await lifecycle.spawn(spec("c")).exited;
    expect(exit).toMatchObject({ reason: "exited", code: 139 });
    expect(exit.stderrTail).toContain("crashed");
    expect(runtime.leaked()).toEqual([]);
  });

  test("a hanging container is stopped gracefully with the stop timeout", async () => {
    const { lifecycle, runtime } = setup({ kind: "hang" });
    const c = lifecycle.spawn(spec("d"));
    const exit = await c.stop();
    expect(exit).toMatchObject({ reason: "stopped", code: 143 });
    expect(runtime.calls).toContain("stop d 10");
    expect(runtime.calls).not.toContain("kill d");
    expect(runtime.leaked()).toEqual([]);
    expect(await c.stop()).toBe(exit);
  });

  test("a container that ignores stop is killed after the timeout", async () => {
    const { lifecycle, runtime, logs } = setup({ kind: "hang", ignoreStop: true });
    const exit = await lifecycle.spawn(spec("e")).stop();
    expect(exit).toMatchObject({ reason: "killed", code: 137 });
    expect(runtime.calls.indexOf("stop e 10")).toBeLessThan(runtime.calls.indexOf("kill e"));
    expect(logs.join("\n")).toContain("did not stop within 10 s");
    expect(runtime.leaked()).toEqual([]);
  });

  test("stopAll stops every live container", async () => {
    const { lifecycle, runtime } = setup({ kind: "hang" });
    lifecycle.spawn(spec("f1"));
    lifecycle.spawn(spec("f2"));
    expect(lifecycle.running().sort()).toEqual(["f1", "f2"]);
    const exits = await lifecycle.stopAll();
    expect(exits.map((e) => e.reason)).toEqual(["stopped", "stopped"]);
    expect(runtime.leaked()).toEqual([]);
  });

  test("orphan cleanup removes this instance's labelled containers only, never live ones", async () => {
    const { lifecycle, runtime } = setup({ kind: "hang" });
    runtime.addOrphan("orphan-1", { [LABELS.managed]: "true", [LABELS.instance]: "home1" });
    runtime.addOrphan("other-home", { [LABELS.managed]: "true", [LABELS.instance]: "home2" });
    runtime.addOrphan("unmanaged", { [LABELS.instance]: "home1" });
    const live = lifecycle.spawn(spec("live"));
    const removed = await lifecycle.cleanupOrphans("home1");
    expect(removed).toEqual(["orphan-1"]);
    expect(runtime.containers.get("other-home")?.removed).toBe(false);
    expect(runtime.containers.get("unmanaged")?.removed).toBe(false);
    expect(runtime.containers.get("live")?.removed).toBe(false);
    await live.stop();
  });

  test("refuses a second container with the same name while the first runs", async () => {
    const { lifecycle } = setup({ kind: "hang" });
    const c = lifecycle.spawn(spec("g"));
    expect(() => lifecycle.spawn(spec("g"))).toThrow(/already running/);
    await c.stop();
  });
});
