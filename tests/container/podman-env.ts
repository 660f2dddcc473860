/**
 * What the real-runtime tests need, checked once: Podman installed and the locally made base image
 * (build/image/base.sh). When something is missing the tests skip and say why.
 */
import { PodmanRuntime } from "../../src/container/adapters/podman.ts";

export const BASE_IMAGE = process.env.CARAPACE_BASE_IMAGE ?? "localhost/carapace-base:bookworm";

function check(): string | null {
  const which = Bun.spawnSync(["sh", "-c", "command -v podman"], { stdout: "pipe" });
  if (which.exitCode !== 0) return "podman is not installed";
  const exists = Bun.spawnSync(["podman", "image", "exists", BASE_IMAGE]);
  if (exists.exitCode !== 0) return `base image ${BASE_IMAGE} is missing (run: bash build/image/base.sh)`;
  return null;
}

export const podmanSkipReason = check();
export const hasPodman = podmanSkipReason === null;

export { reportRuntimeSkip as reportSkip } from "../harness/runtime-required.ts";

/** A Podman adapter tuned for this host as detection would (runc on cgroup v1). */
export function realPodman(): PodmanRuntime {
  const info = Bun.spawnSync(["podman", "info", "--format", "{{.Host.CgroupsVersion}} {{.Host.Security.Rootless}}"]);
  const [cgroup, rootless] = info.stdout.toString().trim().split(" ");
  return new PodmanRuntime({ ...(cgroup === "v1" ? { ociRuntime: "runc" } : {}), rootless: rootless === "true" });
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}
