/**
 * Picks the container runtime: the configured preference, else the first available of Apple
 * `container` (macOS 26+ on Apple silicon), Podman, Docker. Candidates are probed concurrently with
 * short timeouts so detection stays under 2 s.
 */
import { release } from "node:os";
import { AppleContainerRuntime } from "./adapters/apple.ts";
import { DockerRuntime } from "./adapters/docker.ts";
import { PodmanRuntime } from "./adapters/podman.ts";
import { ContainerError } from "./errors.ts";
import { bunExec, type Exec } from "./exec.ts";
import type { ContainerRuntime, RuntimeInfo, RuntimeName } from "./runtime.ts";

export type RuntimePreference = Exclude<RuntimeName, "mock"> | "auto";
export const DETECTION_ORDER: readonly Exclude<RuntimeName, "mock">[] = ["apple", "podman", "docker"];

export interface DetectOptions {
  preference?: RuntimePreference;
  exec?: Exec;
  platform?: NodeJS.Platform;
  arch?: string;
  /** Kernel release (`uname -r`); on macOS, Darwin 25 is macOS 26. */
  osRelease?: string;
}

export interface DetectedRuntime {
  runtime: ContainerRuntime;
  info: RuntimeInfo;
}

interface Host {
  exec: Exec;
  platform: NodeJS.Platform;
  arch: string;
  osRelease: string;
}

function host(options: DetectOptions): Host {
  return {
    exec: options.exec ?? bunExec,
    platform: options.platform ?? process.platform,
    arch: options.arch ?? process.arch,
    osRelease: options.osRelease ?? release(),
  };
}

/** Apple's runtime exists only on macOS 26+ (Darwin 25+) on Apple silicon. */
export function appleEligible(platform: NodeJS.Platform, arch: string, osRelease: string): boolean {
  const darwinMajor = Number.parseInt(osRelease.split(".")[0] ?? "", 10);
  return platform === "darwin" && arch === "arm64" && darwinMajor >= 25;
}

function candidate(name: Exclude<RuntimeName, "mock">, h: Host): ContainerRuntime | null {
  switch (name) {
    case "apple":
      return appleEligible(h.platform, h.arch, h.osRelease) ? new AppleContainerRuntime({ exec: h.exec }) : null;
    case "podman":
      return new PodmanRuntime({ exec: h.exec, platform: h.platform });
    case "docker":
      return new DockerRuntime({ exec: h.exec, platform: h.platform });
  }
}

/** Every runtime that answers on this machine, in detection order. */
export async function listAvailableRuntimes(options: DetectOptions = {}): Promise<Exclude<RuntimeName, "mock">[]> {
  const h = host(options);
  const probes = DETECTION_ORDER.map(async (name) => {
    const rt = candidate(name, h);
    return rt && (await rt.isAvailable()) ? name : null;
  });
  return (await Promise.all(probes)).filter((n): n is Exclude<RuntimeName, "mock"> => n !== null);
}

/**
 * Podman gets host-specific settings: runc where crun fails (cgroup v1/hybrid hosts), keep-id when
 * rootless, private relabelling under SELinux. Its `podman info` is also its availability check (it
 * answers only when the engine does), so detection never runs a `podman version` before it.
 */
async function configured(rt: ContainerRuntime, h: Host): Promise<DetectedRuntime> {
  if (rt instanceof PodmanRuntime) {
    const { info, traits } = await rt.probe();
    const tuned = new PodmanRuntime({
      exec: h.exec,
      platform: h.platform,
      rootless: traits.rootless,
      selinux: traits.selinux,
      ...(traits.imageStore ? { imageStore: traits.imageStore } : {}),
      ...(traits.cgroupVersion === "v1" && traits.ociRuntime !== "runc" ? { ociRuntime: "runc" } : {}),
    });
    return { runtime: tuned, info };
  }
  return { runtime: rt, info: await rt.info() };
}

/**
 * Whether the candidate answers: Podman's answer is its detection itself; any other runtime is only asked
 * for its version here and configured once it is picked.
 */
async function answers(rt: ContainerRuntime, h: Host): Promise<DetectedRuntime | ContainerRuntime | null> {
  if (rt instanceof PodmanRuntime) return await configured(rt, h).catch(() => null);
  return (await rt.isAvailable()) ? rt : null;
}

async function picked(answer: DetectedRuntime | ContainerRuntime | null, h: Host): Promise<DetectedRuntime | null> {
  if (answer === null) return null;
  return "runtime" in answer ? answer : await configured(answer, h);
}

export async function detectRuntime(options: DetectOptions = {}): Promise<DetectedRuntime> {
  const h = host(options);
  const preference = options.preference ?? "auto";
  if (preference !== "auto") {
    const rt = candidate(preference, h);
    if (!rt) {
      throw new ContainerError(
        `the configured container runtime "${preference}" cannot run on ${h.platform}/${h.arch}`,
        'set container.runtime to "podman", "docker" or "auto" in config.toml',
      );
    }
    const detected = await picked(await answers(rt, h), h);
    if (!detected) {
      throw new ContainerError(
        `the configured container runtime "${preference}" is not available (its CLI is missing or its engine does not answer)`,
        `install or start ${preference}, or set container.runtime = "auto" in config.toml`,
      );
    }
    return detected;
  }
  // Every candidate concurrently; the first in detection order that answers wins.
  const probes = DETECTION_ORDER.map((name) => {
    const rt = candidate(name, h);
    return rt ? answers(rt, h).catch(() => null) : Promise.resolve(null);
  });
  for (const probe of probes) {
    const detected = await picked(await probe, h);
    if (detected) return detected;
  }
  throw new ContainerError(
    "no container runtime found (tried Apple container, podman, docker)",
    h.platform === "linux"
      ? "install Podman (e.g. `sudo apt-get install podman runc`) or Docker, then run `carapace doctor`"
      : "install Podman Desktop or Docker Desktop (or Apple's container on macOS 26+), then run `carapace doctor`",
  );
}

const detections = new WeakMap<Exec, Map<RuntimePreference, Promise<DetectedRuntime>>>();

/**
 * `detectRuntime` once per process and preference: the core's start-up image check and its first session
 * share one probe (a `podman info` costs ~0.5 s of CPU). A failed detection is not kept, so a runtime
 * started later is found by the next call.
 */
export function detectRuntimeOnce(
  options: Omit<DetectOptions, "platform" | "arch" | "osRelease"> = {},
): Promise<DetectedRuntime> {
  const exec = options.exec ?? bunExec;
  const preference = options.preference ?? "auto";
  const byPreference = detections.get(exec) ?? new Map<RuntimePreference, Promise<DetectedRuntime>>();
  detections.set(exec, byPreference);
  const known = byPreference.get(preference);
  if (known) return known;
  const pending = detectRuntime({ preference, exec });
  byPreference.set(preference, pending);
  pending.catch(() => {
    if (byPreference.get(preference) === pending) byPreference.delete(preference);
  });
  return pending;
}
