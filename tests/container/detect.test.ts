import { describe, expect, test } from "bun:test";
import { PodmanRuntime } from "../../src/container/adapters/podman.ts";
import { appleEligible, detectRuntime, detectRuntimeOnce, listAvailableRuntimes } from "../../src/container/detect.ts";
import { FakeExec } from "./fake-exec.ts";
import { hasPodman } from "./podman-env.ts";

const podmanInfo = (cgroupVersion: string, ociRuntime: string) =>
  JSON.stringify({
    host: {
      security: { rootless: false, selinuxEnabled: false },
      cgroupControllers: ["memory", "pids"],
      cgroupVersion,
      ociRuntime: { name: ociRuntime },
    },
    version: { Version: "4.3.1" },
  });

/** A machine where the given CLIs answer. */
function machine(present: string[], cgroupVersion = "v2", ociRuntime = "crun") {
  return new FakeExec(answers(present, cgroupVersion, ociRuntime));
}

function answers(present: string[], cgroupVersion = "v2", ociRuntime = "crun") {
  return (argv: readonly string[]) => {
    const bin = argv[0] ?? "";
    if (!present.includes(bin)) return undefined;
    const a = argv.slice(1).join(" ");
    if (bin === "podman" && a.startsWith("version")) return { stdout: "4.3.1\n" };
    if (bin === "podman" && a.startsWith("info")) return { stdout: podmanInfo(cgroupVersion, ociRuntime) };
    if (bin === "docker" && a.startsWith("version")) return { stdout: "20.10.24\n" };
    if (bin === "docker" && a.startsWith("info"))
      return { stdout: JSON.stringify({ ServerVersion: "20.10.24", SecurityOptions: [], CgroupVersion: "2" }) };
    if (bin === "container" && a === "--version") return { stdout: "container CLI version 0.6.0\n" };
    if (bin === "container" && a === "system status") return { stdout: "running\n" };
    return undefined;
  };
}

const linux = { platform: "linux" as const, arch: "x64", osRelease: "6.1.0" };
const mac26 = { platform: "darwin" as const, arch: "arm64", osRelease: "25.0.0" };

describe("runtime detection", () => {
  test("Apple container only on macOS 26+ (Darwin 25+) on Apple silicon", () => {
    expect(appleEligible("darwin", "arm64", "25.1.0")).toBe(true);
    expect(appleEligible("darwin", "arm64", "24.6.0")).toBe(false);
    expect(appleEligible("darwin", "x64", "25.1.0")).toBe(false);
    expect(appleEligible("linux", "arm64", "25.1.0")).toBe(false);
  });

  test("order: Apple, then Podman, then Docker", async () => {
    expect((await detectRuntime({ exec: machine(["container", "podman", "docker"]), ...mac26 })).runtime.name).toBe(
      "apple",
    );
    expect((await detectRuntime({ exec: machine(["podman", "docker"]), ...linux })).runtime.name).toBe("podman");
    expect((await detectRuntime({ exec: machine(["docker"]), ...linux })).runtime.name).toBe("docker");
    expect(await listAvailableRuntimes({ exec: machine(["container", "podman", "docker"]), ...linux })).toEqual([
      "podman",
      "docker",
    ]);
  });

  test("a configured preference wins, and fails clearly when that runtime is absent", async () => {
    const d = await detectRuntime({ preference: "docker", exec: machine(["podman", "docker"]), ...linux });
    expect(d.runtime.name).toBe("docker");
    expect(d.info.isolation).toBe("namespace");
    await expect(detectRuntime({ preference: "docker", exec: machine(["podman"]), ...linux })).rejects.toThrow(
      /configured container runtime "docker" is not available.*Fix: install or start docker/,
    );
    await expect(detectRuntime({ preference: "apple", exec: machine(["container"]), ...linux })).rejects.toThrow(
      /cannot run on linux/,
    );
  });

  test("no runtime at all gives an actionable error", async () => {
    await expect(detectRuntime({ exec: machine([]), ...linux })).rejects.toThrow(
      /^\[CONTAINER\] Error: no container runtime found.*Fix: install Podman/,
    );
  });

  test("detecting podman runs `podman info` once (info and host traits come from the same answer)", async () => {
    const exec = machine(["podman"], "v1", "crun");
    const d = await detectRuntime({ exec, ...linux });
    expect(d.info.cgroupVersion).toBe("v1");
    expect(exec.calls.filter((argv) => argv[0] === "podman" && argv[1] === "info")).toHaveLength(1);
  });

  test("podman's `podman info` is its availability check: no `podman version` before it, auto or configured", async () => {
    for (const preference of ["auto", "podman"] as const) {
      const exec = machine(["podman", "docker"]);
      expect((await detectRuntime({ preference, exec, ...linux })).runtime.name).toBe("podman");
      const podmanCalls = exec.calls.filter((argv) => argv[0] === "podman").map((argv) => argv[1]);
      expect(podmanCalls).toEqual(["info"]);
      // Docker is only asked whether it answers, never configured, when podman wins.
      expect(exec.calls.filter((argv) => argv[0] === "docker" && argv[1] === "info")).toHaveLength(0);
    }
    // A podman whose info fails is not picked: the next runtime in order is.
    const broken = new FakeExec((argv) =>
      argv[0] === "podman" && argv[1] === "info" ? { code: 125, stderr: "engine down" } : answers(["docker"])(argv),
    );
    expect((await detectRuntime({ exec: broken, ...linux })).runtime.name).toBe("docker");
  });

  test("podman's image store is watched only when it is local and the only one", async () => {
    const info = (host: object, store: object) =>
      new FakeExec((argv) =>
        argv[0] === "podman" && argv[1] === "info"
          ? {
              stdout: JSON.stringify({
                host: { security: {}, cgroupControllers: ["memory", "pids"], cgroupVersion: "v2", ...host },
                store,
                version: { Version: "4.3.1" },
              }),
            }
          : undefined,
      );
    const local = { serviceIsRemote: false };
    const store = { graphRoot: "/var/lib/containers/storage", graphDriverName: "overlay", graphOptions: {} };
    const traits = async (exec: FakeExec, platform: NodeJS.Platform = "linux") =>
      (await new PodmanRuntime({ exec, platform }).probe()).traits.imageStore;
    expect(await traits(info(local, store))).toBe("/var/lib/containers/storage/overlay-images");
    expect(await traits(info({ serviceIsRemote: true }, store))).toBeNull();
    expect(await traits(info({}, store))).toBeNull();
    expect(await traits(info(local, store), "darwin")).toBeNull();
    expect(
      await traits(info(local, { ...store, graphOptions: { "overlay.additionalImageStores": ["/mnt/images"] } })),
    ).toBeNull();
    expect(await traits(info(local, { graphRoot: "relative", graphDriverName: "overlay" }))).toBeNull();
  });

  test("detectRuntimeOnce shares one probe per process and preference, and does not keep a failure", async () => {
    const exec = machine(["podman"]);
    const [a, b] = await Promise.all([detectRuntimeOnce({ exec }), detectRuntimeOnce({ exec })]);
    expect(a).toBe(b);
    expect(await detectRuntimeOnce({ exec })).toBe(a);
    expect(exec.calls.filter((argv) => argv[1] === "info")).toHaveLength(1);

    let present: string[] = [];
    const later = new FakeExec((argv) => answers(present)(argv));
    await expect(detectRuntimeOnce({ exec: later })).rejects.toThrow("no container runtime found");
    present = ["podman"];
    expect((await detectRuntimeOnce({ exec: later })).runtime.name).toBe("podman");
  });

  test("podman on a cgroup v1 host is driven with runc", async () => {
    const exec = machine(["podman"], "v1", "crun");
    const d = await detectRuntime({ exec, ...linux });
    expect(d.runtime).toBeInstanceOf(PodmanRuntime);
    expect(
      d.runtime.runArgs({
        name: "n",
        image: "i",
        args: [],
        labels: {},
        mounts: [],
        env: {},
        user: "1:1",
        network: "none",
        readOnlyRoot: true,
        dropAllCapabilities: true,
        noNewPrivileges: true,
        limits: { memoryBytes: 1, pids: 1, nofile: 1, nproc: 1 },
      }),
    ).toContain("--runtime=runc");
    const v2 = await detectRuntime({ exec: machine(["podman"], "v2", "crun"), ...linux });
    expect(
      v2.runtime.runArgs({
        name: "n",
        image: "i",
        args: [],
        labels: {},
        mounts: [],
        env: {},
        user: "1:1",
        network: "none",
        readOnlyRoot: true,
        dropAllCapabilities: true,
        noNewPrivileges: true,
        limits: { memoryBytes: 1, pids: 1, nofile: 1, nproc: 1 },
      }),
    ).not.toContain("--runtime=runc");
  });

  test.skipIf(!hasPodman)("detects the real podman of this machine", async () => {
    const d = await detectRuntime();
    expect(d.runtime.name).toBe("podman");
    expect(d.info.enforcesLimits).toBe(true);
  });
});
