/**
 * The real Docker engine for the Docker suites: Debian's dockerd, started once per test process with its
 * own data root, exec root, pidfile, config and socket under a temp dir (fixtures/dockerd-run.sh), and
 * stopped by its pid after the last test file (tests/harness/run-end.ts). Every client call names that socket in DOCKER_HOST, so a
 * system Docker is never touched. Images come from Podman (`podman save | docker load`).
 */
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DockerRuntime } from "../../src/container/adapters/docker.ts";
import { createBunExec } from "../../src/container/exec.ts";
import { atRunEnd } from "../harness/run-end.ts";
import { BASE_IMAGE, hasPodman, podmanSkipReason } from "./podman-env.ts";

const SCRIPT = join(import.meta.dir, "fixtures/dockerd-run.sh");
/** Debian's client, the same release as its daemon; else whatever `docker` is on PATH. */
const CLIENT = existsSync("/usr/bin/docker") ? "/usr/bin/docker" : "docker";
const READY_TIMEOUT_MS = 90_000;

export interface DockerEngine {
  /** Why the Docker suites cannot run here, or null when the daemon answers. */
  skipReason: string | null;
  /** DOCKER_HOST and DOCKER_CONFIG for this daemon, on top of the inherited environment. */
  env: Record<string, string | undefined>;
  dir: string;
}

function commandExists(name: string): boolean {
  return Bun.spawnSync(["sh", "-c", `command -v ${name}`]).exitCode === 0;
}

function missing(): string | null {
  if (!commandExists("dockerd")) return "dockerd is not installed (Debian: apt-get install docker.io)";
  if (process.getuid?.() !== 0) return "dockerd needs root; run the tests as root";
  if (!hasPodman) return `the images come from podman, and ${podmanSkipReason}`;
  return null;
}

function clientRun(env: Record<string, string | undefined>, args: string[], timeout?: number) {
  return Bun.spawnSync([CLIENT, ...args], { env, stdout: "pipe", stderr: "pipe", timeout });
}

/**
 * The daemon picks overlay2 where the kernel allows it and falls back on its own; should it fail to come up
 * with the default driver anyway, a second daemon is tried on vfs (slow, but needs nothing of the kernel).
 */
async function start(): Promise<DockerEngine> {
  const reason = missing();
  if (reason) return { skipReason: reason, env: {}, dir: "" };
  const first = await startDaemon(null);
  if (first.skipReason === null) return first;
  const vfs = await startDaemon("vfs");
  if (vfs.skipReason === null) return vfs;
  return { ...vfs, skipReason: `${first.skipReason}; and with the vfs storage driver: ${vfs.skipReason}` };
}

async function startDaemon(storageDriver: string | null): Promise<DockerEngine> {
  const dir = mkdtempSync(join(tmpdir(), "carapace-dockerd-"));
  const env = { ...process.env, DOCKER_HOST: `unix://${dir}/docker.sock`, DOCKER_CONFIG: join(dir, "client") };
  const supervisor = Bun.spawn(["bash", SCRIPT, dir, String(process.pid), ...(storageDriver ? [storageDriver] : [])], {
    stdin: "ignore",
    stdout: "ignore",
    stderr: "pipe",
  });
  const stop = async () => {
    supervisor.kill("SIGTERM");
    await supervisor.exited;
  };
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline && supervisor.exitCode === null) {
    // A daemon stuck in its start-up must not hang the run: each question gets a few seconds.
    const v = clientRun(env, ["version", "--format", "{{.Server.Version}}"], 10_000);
    if (v.exitCode === 0 && v.stdout.toString().trim()) {
      // Stopped after the last test file; should the process die first, the script notices and stops it.
      atRunEnd(stop);
      return { skipReason: null, env, dir };
    }
    await Bun.sleep(250);
  }
  // The script prints the daemon's log tail as it stops it (and removes its directory).
  await stop();
  const log = (await new Response(supervisor.stderr).text()).trim().split("\n").slice(-5).join(" ");
  return { skipReason: `dockerd did not answer on ${env.DOCKER_HOST}: ${log || "no log"}`, env, dir };
}

const KEY = Symbol.for("carapace.test.dockerEngine");
type Holder = { [KEY]?: Promise<DockerEngine> };

/** The one daemon of this test process, started on first use and shared by every Docker test file. */
export function dockerEngine(): Promise<DockerEngine> {
  const holder = globalThis as Holder;
  holder[KEY] ??= start();
  return holder[KEY];
}

/** The client binary the Docker suites run. */
export function dockerClient(): string {
  return CLIENT;
}

/** A Docker adapter whose every call goes to this process's daemon. */
export function realDocker(engine: DockerEngine): DockerRuntime {
  return new DockerRuntime({ exec: createBunExec(engine.env), binary: CLIENT, platform: "linux" });
}

/** Copies an image from Podman into the test daemon unless it is already there. */
export function loadImageFromPodman(engine: DockerEngine, tag: string): string | null {
  if (clientRun(engine.env, ["image", "inspect", "--format", "{{.Id}}", tag]).exitCode === 0) return null;
  const load = Bun.spawnSync(
    ["bash", "-c", 'set -o pipefail; podman save --format docker-archive "$1" | "$2" load', "bash", tag, CLIENT],
    { env: engine.env, stdout: "pipe", stderr: "pipe" },
  );
  if (load.exitCode === 0) return null;
  return `could not load ${tag} into the test dockerd: ${load.stderr.toString().trim().split("\n").slice(-2).join(" ")}`;
}

export { reportDockerSkip } from "../harness/runtime-required.ts";
export { BASE_IMAGE };
