/**
 * The lifecycle manager against a real runtime (podman-lifecycle.test.ts, docker-lifecycle.test.ts):
 * locked-down spawn, stop, kill, removal, orphans.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ContainerLifecycle } from "../../src/container/lifecycle.ts";
import { agentRunSpec, instanceId } from "../../src/container/lockdown.ts";
import { LABELS } from "../../src/container/paths.ts";
import type { ContainerRuntime } from "../../src/container/runtime.ts";
import { cleanStaleSessionDirs, socketsRoot } from "../../src/container/sockets.ts";
import { BASE_IMAGE, uniqueName } from "./podman-env.ts";
import { sessionFixture } from "./session-fixture.ts";

export interface LifecycleSuiteTarget {
  runtimeName: "podman" | "docker";
  skipReason: string | null;
  reportSkip: (suite: string, reason: string | null) => void;
  runtime: () => ContainerRuntime;
  /** How fixtures/host-session.ts reaches the same engine: its runtime arguments and environment. */
  hostArgs: string[];
  hostEnv: Record<string, string | undefined>;
}

export function lifecycleSuite(target: LifecycleSuiteTarget): void {
  const realRuntime = target.runtime;
  target.reportSkip(`${target.runtimeName} lifecycle`, target.skipReason);
  const home = mkdtempSync(join(tmpdir(), "cpl-"));
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  function baseSpec(sessionId: string, args: string[]) {
    const spec = agentRunSpec({
      ...sessionFixture(home, sessionId),
      name: uniqueName("carapace-lc"),
      image: BASE_IMAGE,
      claudeArgs: args,
    });
    spec.workdir = "/";
    return spec;
  }

  describe.skipIf(target.skipReason !== null)(`ContainerLifecycle (real ${target.runtimeName})`, () => {
    test("stdin is delivered then closed, output streamed, and the container removed after exit", async () => {
      const runtime = realRuntime();
      const lifecycle = new ContainerLifecycle(runtime);
      let out = "";
      const spec = baseSpec("lc-run", ["sh", "-c", "cat; echo; echo eof-seen"]);
      const c = lifecycle.spawn(spec, {
        stdin: "payload-line\n",
        onStdout: (s) => {
          out += s;
        },
      });
      const exit = await c.exited;
      expect(exit).toMatchObject({ code: 0, reason: "exited" });
      expect(out).toBe("payload-line\n\neof-seen\n");
      expect(await runtime.inspect(spec.name)).toBeNull();
    });

    test("a held container runs with nothing on stdin until released, then gets the payload once", async () => {
      const runtime = realRuntime();
      const lifecycle = new ContainerLifecycle(runtime);
      let out = "";
      const spec = baseSpec("lc-held", ["sh", "-c", "echo started; cat; echo; echo eof-seen"]);
      const c = lifecycle.spawn(spec, {
        hold: true,
        onStdout: (s) => {
          out += s;
        },
      });
      const deadline = Date.now() + 60_000;
      while (!out.includes("started") && Date.now() < deadline) await Bun.sleep(50);
      // Running and waiting on its first read: nothing was written, stdin is still open.
      expect((await runtime.inspect(spec.name))?.running).toBe(true);
      expect(out).toBe("started\n");
      c.release("payload-line\n");
      expect(() => c.release("again\n")).toThrow("already released");
      expect(await c.exited).toMatchObject({ code: 0, reason: "exited" });
      expect(out).toBe("started\npayload-line\n\neof-seen\n");
      expect(await runtime.inspect(spec.name)).toBeNull();
    }, 90_000);

    test("a container that is not held cannot be released", async () => {
      const lifecycle = new ContainerLifecycle(realRuntime());
      const c = lifecycle.spawn(baseSpec("lc-not-held", ["true"]), { stdin: "" });
      expect(() => c.release("late\n")).toThrow("not held");
      await c.exited;
    }, 60_000);

    test("a missing image is a spawn failure", async () => {
      const lifecycle = new ContainerLifecycle(realRuntime());
      const spec = baseSpec("lc-missing", ["true"]);
      spec.image = "localhost/carapace-no-such-image:0";
      const exit = await lifecycle.spawn(spec).exited;
      expect(exit.reason).toBe("spawn-failed");
      expect(exit.stderrTail.toLowerCase()).toContain("localhost/carapace-no-such-image");
    });

    test("graceful stop ends a container that honours SIGTERM", async () => {
      const runtime = realRuntime();
      // A generous settle: on a loaded machine `podman run` may take seconds to exit after the stop.
      const lifecycle = new ContainerLifecycle(runtime, { stopTimeoutMs: 5000, settleMs: 15_000 });
      const spec = baseSpec("lc-term", ["sh", "-c", "trap 'exit 0' TERM; echo up; while :; do sleep 0.1; done"]);
      let out = "";
      const c = lifecycle.spawn(spec, {
        onStdout: (s) => {
          out += s;
        },
      });
      while (!out.includes("up")) await Bun.sleep(50);
      const exit = await c.stop();
      expect(exit.reason).toBe("stopped");
      // Its TERM trap ran (exit 0): not the runtime's SIGKILL at the stop timeout (137).
      expect(exit.code).toBe(0);
      expect(await runtime.inspect(spec.name)).toBeNull();
    });

    test("a container ignoring SIGTERM is killed after the stop timeout", async () => {
      const runtime = realRuntime();
      const lifecycle = new ContainerLifecycle(runtime, { stopTimeoutMs: 1000, settleMs: 15_000 });
      // PID 1 ignores SIGTERM by default (no handler), so only the runtime's SIGKILL ends it.
      const spec = baseSpec("lc-kill", ["sh", "-c", "echo up; while :; do sleep 0.1; done"]);
      let out = "";
      const c = lifecycle.spawn(spec, {
        onStdout: (s) => {
          out += s;
        },
      });
      while (!out.includes("up")) await Bun.sleep(50);
      const started = Date.now();
      const exit = await c.stop();
      expect(exit.code).toBe(137);
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
      expect(await runtime.inspect(spec.name)).toBeNull();
    });

    test("after the host is SIGKILLed mid-session, start-up cleanup removes the orphan and its sockets", async () => {
      const crashHome = mkdtempSync(join(tmpdir(), "cpl-crash-"));
      let name = "";
      try {
        const fixture = join(import.meta.dir, "fixtures/host-session.ts");
        const host = Bun.spawn(["bun", fixture, crashHome, BASE_IMAGE, ...target.hostArgs], {
          env: target.hostEnv,
          stdout: "pipe",
          stderr: "inherit",
        });
        const reader = host.stdout.getReader();
        let line = "";
        while (!line.includes("ready")) {
          const { value, done } = await reader.read();
          if (done) break;
          line += new TextDecoder().decode(value);
        }
        name = line.trim().split(" ")[1] as string;
        host.kill("SIGKILL");
        await host.exited;
        const runtime = realRuntime();
        expect((await runtime.inspect(name))?.running).toBe(true);
        expect(existsSync(join(socketsRoot(crashHome), "crashed"))).toBe(true);

        // "Starting again": a fresh lifecycle for the same home.
        const lifecycle = new ContainerLifecycle(runtime);
        expect(await lifecycle.cleanupOrphans(instanceId(crashHome))).toEqual([name]);
        expect(cleanStaleSessionDirs(crashHome, [])).toEqual(["crashed"]);
        expect(await runtime.inspect(name)).toBeNull();
        expect(await runtime.listByLabel(LABELS.instance, instanceId(crashHome))).toEqual([]);
      } finally {
        if (name) await realRuntime().remove(name);
        rmSync(crashHome, { recursive: true, force: true });
      }
    }, 60_000);
  });
}
