/**
 * One contract for every ContainerRuntime adapter, run against a fake exec for Podman, Docker and
 * Apple `container`, and against the real Podman when this machine has it.
 */
import { describe, expect, test } from "bun:test";
import { AppleContainerRuntime } from "../../src/container/adapters/apple.ts";
import { DockerRuntime } from "../../src/container/adapters/docker.ts";
import { PodmanRuntime } from "../../src/container/adapters/podman.ts";
import { ContainerError } from "../../src/container/errors.ts";
import type { ContainerRuntime, RunSpec, RuntimeName } from "../../src/container/runtime.ts";
import { dockerEngine, loadImageFromPodman, realDocker, reportDockerSkip } from "./docker-env.ts";
import { FakeExec, type Responder } from "./fake-exec.ts";
import { BASE_IMAGE, podmanSkipReason, realPodman, reportSkip, uniqueName } from "./podman-env.ts";

const LABELS = { "io.carapace.managed": "true", "io.carapace.session": "s1" };

function spec(): RunSpec {
  return {
    name: "carapace-s1",
    image: "localhost/carapace-agent:1",
    args: ["-p", "--verbose"],
    labels: LABELS,
    mounts: [
      { source: "/h/ws", target: "/workspace", readonly: false },
      { source: "/h/skills", target: "/home/agent/.claude/skills", readonly: true },
    ],
    env: { CARAPACE_SOCKET: "/run/carapace/request.sock" },
    user: "65534:65534",
    workdir: "/workspace",
    network: "none",
    readOnlyRoot: true,
    dropAllCapabilities: true,
    noNewPrivileges: true,
    limits: { memoryBytes: 536870912, pids: 256, nofile: 1024, nproc: 1024 },
  };
}

interface Fixture {
  make: (exec: FakeExec) => ContainerRuntime;
  binary: string;
  responder: Responder;
  /** Flags each runtime must emit for the lockdown of spec(). */
  lockdownFlags: string[];
  /** How it mounts a pre-started container's token tmpfs; null when it cannot (and refuses the spec). */
  tokenTmpfs: string | null;
  /** Flags that keep the image build's RUN steps off the network, where the runtime's build has them. */
  buildNetworkFlags: string[];
}

const podmanPs = JSON.stringify([{ Id: "abc", Names: ["carapace-s1"], Labels: LABELS, State: "running" }]);
const podmanInspect = JSON.stringify([
  {
    Id: "abc",
    Name: "carapace-s1",
    ImageName: "localhost/carapace-agent:1",
    Path: "/usr/local/bin/carapace-entrypoint",
    Args: ["-p", "--verbose"],
    Config: { Labels: LABELS, Env: ["HOME=/home/agent"], Image: "localhost/carapace-agent:1" },
    State: { Running: false, ExitCode: 3 },
  },
]);
const dockerPs = `${JSON.stringify({ ID: "abc", Names: "carapace-s1", Labels: "io.carapace.managed=true,io.carapace.session=s1", State: "running" })}\n`;
const appleList = JSON.stringify([
  {
    status: "running",
    configuration: {
      id: "carapace-s1",
      labels: LABELS,
      image: { reference: "localhost/carapace-agent:1" },
      initProcess: {
        executable: "/usr/local/bin/carapace-entrypoint",
        arguments: ["-p", "--verbose"],
        environment: ["HOME=/home/agent"],
      },
    },
  },
  { status: "stopped", configuration: { id: "other", labels: { unrelated: "1" } } },
]);
const imageLabels = JSON.stringify({ "org.opencontainers.image.version": "1" });

function ociResponder(ps: string, inspect: string, version: string): Responder {
  return (argv) => {
    const a = argv.slice(1).join(" ");
    if (a.startsWith("version")) return { stdout: `${version}\n` };
    if (a.startsWith("ps")) return { stdout: ps };
    if (a === "container inspect carapace-s1") return { stdout: inspect };
    if (a.startsWith("container inspect")) return { code: 125, stderr: "Error: no such container ghost" };
    if (a.startsWith("image inspect") && a.endsWith("localhost/carapace-agent:1")) {
      if (a.includes("{{.Id}} {{json")) return { stdout: `sha256:1 ${imageLabels}\n` };
      return { stdout: a.includes("Labels") ? imageLabels : "sha256:1\n" };
    }
    if (a.startsWith("image inspect")) return { code: 125, stderr: "Error: no such object" };
    if (/^(stop|kill|rm)\b.* ghost$/.test(a)) return { code: 125, stderr: "Error: no such container ghost" };
    if (/^(stop|kill|rm)\b/.test(a)) return { stdout: "carapace-s1\n" };
    return undefined;
  };
}

const fixtures: Record<string, Fixture> = {
  podman: {
    make: (exec) => new PodmanRuntime({ exec, ociRuntime: "runc" }),
    binary: "podman",
    buildNetworkFlags: ["--network", "none"],
    responder: ociResponder(podmanPs, podmanInspect, "4.3.1"),
    lockdownFlags: [
      "--read-only",
      "--read-only-tmpfs=false",
      "--network=none",
      "--cap-drop=ALL",
      "--security-opt=no-new-privileges",
      "--runtime=runc",
    ],
    tokenTmpfs: "/run/carapace-token:rw,noexec,nosuid,nodev,size=4096,mode=0700,U",
  },
  docker: {
    make: (exec) => new DockerRuntime({ exec, platform: "linux" }),
    binary: "docker",
    buildNetworkFlags: ["--network", "none"],
    responder: ociResponder(
      dockerPs,
      podmanInspect.replace('"Name":"carapace-s1"', '"Name":"/carapace-s1"'),
      "20.10.24",
    ),
    lockdownFlags: [
      "--read-only",
      "--network=none",
      "--cap-drop=ALL",
      "--security-opt=no-new-privileges",
      "type=tmpfs,target=/dev/mqueue,readonly,tmpfs-size=4096",
    ],
    tokenTmpfs: "/run/carapace-token:rw,noexec,nosuid,nodev,size=4096,mode=0700,uid=65534,gid=65534",
  },
  apple: {
    make: (exec) => new AppleContainerRuntime({ exec }),
    binary: "container",
    buildNetworkFlags: [],
    responder: (argv) => {
      const a = argv.slice(1).join(" ");
      if (a === "--version") return { stdout: "container CLI version 0.6.0 (build: release)\n" };
      if (a === "system status") return { stdout: "apiserver is running\n" };
      if (a.startsWith("list")) return { stdout: appleList };
      if (a === "inspect carapace-s1") return { stdout: JSON.stringify([JSON.parse(appleList)[0]]) };
      if (a.startsWith("inspect")) return { code: 1, stderr: "Error: container not found: ghost" };
      if (a === "image inspect localhost/carapace-agent:1") {
        return {
          stdout: JSON.stringify([
            {
              name: "x",
              index: { digest: "sha256:1" },
              variants: [{ config: { config: { Labels: JSON.parse(imageLabels) } } }],
            },
          ]),
        };
      }
      if (a.startsWith("image inspect")) return { code: 1, stderr: "Error: image not found" };
      if (/ ghost$/.test(a)) return { code: 1, stderr: "Error: container not found: ghost" };
      if (/^(stop|kill|delete)\b/.test(a)) return { stdout: "carapace-s1\n" };
      return undefined;
    },
    lockdownFlags: ["--read-only", "--network", "none", "--cap-drop", "ALL"],
    tokenTmpfs: null,
  },
};

for (const [name, f] of Object.entries(fixtures)) {
  describe(`ContainerRuntime contract (${name}, fake exec)`, () => {
    const setup = () => {
      const exec = new FakeExec(f.responder, () => ({ stdout: ["hello\n"], code: 0 }));
      return { exec, rt: f.make(exec) };
    };

    test("reports available and a version when the CLI answers", async () => {
      const { rt } = setup();
      expect(await rt.isAvailable()).toBe(true);
      expect(await rt.version()).toMatch(/^\d+\.\d+/);
    });

    test("reports unavailable, without throwing, when the CLI is missing", async () => {
      const rt = f.make(new FakeExec(() => undefined));
      expect(await rt.isAvailable()).toBe(false);
      await expect(rt.version()).rejects.toBeInstanceOf(ContainerError);
    });

    test("run arguments carry the lockdown, labels, mounts, env, then image and args last", () => {
      const { rt } = setup();
      const args = rt.runArgs(spec());
      expect(args[0]).toBe("run");
      for (const flag of f.lockdownFlags) expect(args).toContain(flag);
      expect(args.join(" ")).toContain("65534:65534");
      expect(args).toContain("io.carapace.managed=true");
      expect(args).toContain("type=bind,source=/h/skills,target=/home/agent/.claude/skills,readonly");
      expect(args).toContain("type=bind,source=/h/ws,target=/workspace");
      expect(args).toContain("CARAPACE_SOCKET=/run/carapace/request.sock");
      expect(args.slice(-3)).toEqual(["localhost/carapace-agent:1", "-p", "--verbose"]);
      expect(args.indexOf("--interactive")).toBeGreaterThan(0);
    });

    test("a pre-started container's token tmpfs: memory-backed, noexec, owned by the agent user, or refused", () => {
      const { rt } = setup();
      const warm = { ...spec(), tmpfs: [{ target: "/run/carapace-token", sizeBytes: 4096, mode: 0o700 }] };
      if (f.tokenTmpfs === null) {
        expect(() => rt.runArgs(warm)).toThrow(ContainerError);
        return;
      }
      const args = rt.runArgs(warm);
      expect(args[args.indexOf("--tmpfs") + 1]).toBe(f.tokenTmpfs);
      expect(rt.runArgs(spec())).not.toContain("--tmpfs");
    });

    test("spawn runs the CLI with the run arguments and streams output", async () => {
      const { exec, rt } = setup();
      const child = rt.spawn(spec());
      const out: string[] = [];
      child.onStdout((c) => out.push(c));
      expect(await child.exited).toBe(0);
      expect(out.join("")).toBe("hello\n");
      expect(exec.spawned[0]?.argv).toEqual([f.binary, ...rt.runArgs(spec())]);
    });

    test("lists containers by label", async () => {
      const { rt } = setup();
      const list = await rt.listByLabel("io.carapace.managed", "true");
      expect(list).toHaveLength(1);
      expect(list[0]).toMatchObject({ name: "carapace-s1", running: true });
      expect(list[0]?.labels["io.carapace.session"]).toBe("s1");
    });

    test("inspects a container and returns null for a missing one", async () => {
      const { rt } = setup();
      const d = await rt.inspect("carapace-s1");
      expect(d?.labels["io.carapace.managed"]).toBe("true");
      expect(d?.argv).toEqual(["/usr/local/bin/carapace-entrypoint", "-p", "--verbose"]);
      expect(d?.env).toContain("HOME=/home/agent");
      expect(await rt.inspect("ghost")).toBeNull();
    });

    test("stop passes the timeout; stop, kill and remove tolerate a missing container", async () => {
      const { exec, rt } = setup();
      await rt.stop("carapace-s1", 10);
      expect(exec.find("stop", "carapace-s1")?.join(" ")).toMatch(/(-t|--time) 10/);
      await rt.stop("ghost", 1);
      await rt.kill("ghost");
      await rt.remove("ghost");
      await rt.remove("carapace-s1");
      expect(exec.find("carapace-s1")?.join(" ")).toMatch(/(rm|delete) --force( --time=0)? carapace-s1/);
    });

    test("image existence and labels", async () => {
      const { rt } = setup();
      expect(await rt.imageExists("localhost/carapace-agent:1")).toBe(true);
      expect(await rt.imageExists("localhost/none:1")).toBe(false);
      expect(await rt.imageLabels("localhost/carapace-agent:1")).toEqual({ "org.opencontainers.image.version": "1" });
      expect(await rt.imageLabels("localhost/none:1")).toBeNull();
      expect(await rt.imageId("localhost/carapace-agent:1")).toBe("sha256:1");
      expect(await rt.imageId("localhost/none:1")).toBeNull();
      expect(await rt.image("localhost/carapace-agent:1")).toEqual({
        id: "sha256:1",
        labels: { "org.opencontainers.image.version": "1" },
      });
      expect(await rt.image("localhost/none:1")).toBeNull();
    });

    test("build passes args and labels (RUN steps without network), streams lines, and fails with an actionable error", async () => {
      const lines: string[] = [];
      const ok = new FakeExec(f.responder, () => ({ stdout: ["STEP 1/2\nSTEP", " 2/2\n"], code: 0 }));
      await f.make(ok).build(
        {
          contextDir: "/ctx",
          containerfile: "/ctx/Containerfile",
          tag: "t:1",
          buildArgs: { BASE_IMAGE: "b" },
          labels: { a: "1" },
        },
        (l) => lines.push(l),
      );
      expect(lines).toEqual(["STEP 1/2", "STEP 2/2"]);
      expect(ok.spawned[0]?.argv).toEqual([
        f.binary,
        "build",
        ...f.buildNetworkFlags,
        "--file",
        "/ctx/Containerfile",
        "--tag",
        "t:1",
        "--build-arg",
        "BASE_IMAGE=b",
        "--label",
        "a=1",
        "/ctx",
      ]);
      const bad = new FakeExec(f.responder, () => ({ stderr: ["boom\n"], code: 1 }));
      await expect(
        f.make(bad).build({ contextDir: "/ctx", containerfile: "Containerfile", tag: "t:1", buildArgs: {} }),
      ).rejects.toThrow(/\[CONTAINER\] Error: .*build.*Fix:/);
    });
  });
}

describe("isolation levels", () => {
  test("podman rootful is namespace, rootless is rootless-namespace, and on macOS a VM", async () => {
    const info = (rootless: boolean, controllers: string[]) =>
      JSON.stringify({
        host: { security: { rootless }, cgroupControllers: controllers, cgroupVersion: "v1" },
        version: { Version: "4.3.1" },
      });
    const make = (rootless: boolean, controllers: string[], platform: NodeJS.Platform) =>
      new PodmanRuntime({ exec: new FakeExec(() => ({ stdout: info(rootless, controllers) })), platform });
    expect(await make(false, ["memory", "pids"], "linux").info()).toMatchObject({
      isolation: "namespace",
      enforcesLimits: true,
    });
    expect(await make(true, [], "linux").info()).toMatchObject({
      isolation: "rootless-namespace",
      enforcesLimits: false,
    });
    expect((await make(false, ["memory", "pids"], "darwin").info()).isolation).toBe("vm");
  });

  test("docker on Linux is namespace, rootless docker rootless-namespace, Docker Desktop a VM", async () => {
    const make = (opts: string[], platform: NodeJS.Platform) =>
      new DockerRuntime({
        exec: new FakeExec(() => ({
          stdout: JSON.stringify({ ServerVersion: "20.10", SecurityOptions: opts, CgroupVersion: "2" }),
        })),
        platform,
      });
    expect((await make(["name=seccomp"], "linux").info()).isolation).toBe("namespace");
    expect((await make(["name=rootless"], "linux").info()).isolation).toBe("rootless-namespace");
    expect((await make([], "darwin").info()).isolation).toBe("vm");
  });

  test("apple container is a VM", async () => {
    const rt = new AppleContainerRuntime({ exec: new FakeExec(() => ({ stdout: "container CLI version 0.6.0" })) });
    expect((await rt.info()).isolation).toBe("vm");
  });
});

const docker = await dockerEngine();
const dockerSkip = docker.skipReason ?? loadImageFromPodman(docker, BASE_IMAGE);

const realRuntimes: {
  name: RuntimeName;
  skipReason: string | null;
  report: (suite: string, reason: string | null) => void;
  make: () => ContainerRuntime;
}[] = [
  { name: "podman", skipReason: podmanSkipReason, report: reportSkip, make: realPodman },
  { name: "docker", skipReason: dockerSkip, report: reportDockerSkip, make: () => realDocker(docker) },
];

for (const real of realRuntimes) {
  describe(`ContainerRuntime contract (${real.name}, real runtime)`, () => {
    real.report(`real ${real.name} contract`, real.skipReason);
    const skip = real.skipReason !== null;
    const runSpec = (name: string, args: string[]): RunSpec => ({
      ...spec(),
      name,
      image: BASE_IMAGE,
      args,
      mounts: [],
      labels: { "io.carapace.contract": name },
      workdir: "/",
      limits: { memoryBytes: 256 * 1024 * 1024, pids: 64, nofile: 1024, nproc: 1024 },
    });

    test.skipIf(skip)("reports its engine: version, namespaces on Linux, limits enforced when rootful", async () => {
      const rt = real.make();
      expect(await rt.isAvailable()).toBe(true);
      const info = await rt.info();
      expect(info.name).toBe(real.name);
      expect(info.version).toMatch(/^\d+\.\d+/);
      // The test dockerd runs as root; Podman is rootless when the tests are not root.
      const rootless = real.name === "podman" && process.getuid?.() !== 0;
      expect(info.rootless).toBe(rootless);
      expect(info.isolation).toBe(rootless ? "rootless-namespace" : "namespace");
      if (!rootless) expect(info.enforcesLimits).toBe(true);
      expect(info.cgroupVersion).toMatch(/^v[12]$/);
    });

    test.skipIf(skip)("spawn streams stdout, delivers stdin, and the exit code", async () => {
      const rt = real.make();
      const name = uniqueName("contract-run");
      try {
        const child = rt.spawn(runSpec(name, ["sh", "-c", "read line; echo got:$line; exit 3"]));
        let out = "";
        child.onStdout((c) => {
          out += c;
        });
        child.write("ping\n");
        child.closeStdin();
        expect(await child.exited).toBe(3);
        expect(out).toBe("got:ping\n");
        const d = await rt.inspect(name);
        expect(d?.exitCode).toBe(3);
        expect(d?.labels["io.carapace.contract"]).toBe(name);
      } finally {
        await rt.remove(name);
      }
      expect(await rt.inspect(name)).toBeNull();
    });

    test.skipIf(skip)("list by label, stop with timeout, kill, remove", async () => {
      const rt = real.make();
      const name = uniqueName("contract-stop");
      const child = rt.spawn(runSpec(name, ["sleep", "60"]));
      child.closeStdin();
      try {
        for (let i = 0; i < 300 && !(await rt.listByLabel("io.carapace.contract", name))[0]?.running; i++)
          await Bun.sleep(100);
        const listed = await rt.listByLabel("io.carapace.contract", name);
        expect(listed.map((c) => c.name)).toEqual([name]);
        expect(listed[0]?.running).toBe(true);
        const started = Date.now();
        await rt.stop(name, 1);
        expect(await child.exited).not.toBe(0);
        // The 1 s timeout applied: the runtime's default (10 s) would take longer than this.
        expect(Date.now() - started).toBeLessThan(10_000);
        await rt.kill(name);
      } finally {
        await rt.remove(name);
        await rt.remove(name);
      }
      expect(await rt.listByLabel("io.carapace.contract", name)).toEqual([]);
    });

    test.skipIf(skip)("image existence and labels", async () => {
      const rt = real.make();
      expect(await rt.imageExists(BASE_IMAGE)).toBe(true);
      expect(await rt.imageLabels(BASE_IMAGE)).toEqual({});
      expect(await rt.imageExists("localhost/carapace-no-such-image:0")).toBe(false);
      expect(await rt.imageLabels("localhost/carapace-no-such-image:0")).toBeNull();
      expect(await rt.imageId(BASE_IMAGE)).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(await rt.imageId("localhost/carapace-no-such-image:0")).toBeNull();
      // One look: the same id and labels as the two separate ones, the labels also found by that id.
      const image = await rt.image(BASE_IMAGE);
      expect(image).toEqual({ id: (await rt.imageId(BASE_IMAGE)) as string, labels: {} });
      expect(await rt.imageLabels(image?.id as string)).toEqual({});
      expect(await rt.image("localhost/carapace-no-such-image:0")).toBeNull();
    });
  });
}
