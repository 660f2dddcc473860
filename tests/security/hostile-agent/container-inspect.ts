/**
 * What the host sees of a running session's container: the environment of every process in it (read
 * from /proc on the host, so a defence inside the container cannot hide it), the environment `inspect`
 * shows, and the mounts the container was given.
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";

/** The container of a session: named after the first 16 characters of the session id. */
export function containerOfSessionDir(sessionDir: string): string {
  return `carapace-${basename(sessionDir).slice(0, 16)}`;
}

/** Host pids of the processes in a running container. */
export function containerHostPids(name: string): number[] {
  const r = Bun.spawnSync(["podman", "top", name, "hpid"], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`podman top ${name} failed: ${r.stderr.toString()}`);
  return r.stdout
    .toString()
    .split("\n")
    .slice(1)
    .map((l) => Number.parseInt(l.trim(), 10))
    .filter((n) => Number.isSafeInteger(n) && n > 0);
}

/** The environment of each process of the container, as the host kernel has it. */
export function containerProcessEnvs(name: string): Record<string, string>[] {
  return containerHostPids(name).map((pid) => {
    let raw = "";
    try {
      raw = readFileSync(`/proc/${pid}/environ`, "utf8");
    } catch {
      // The process ended between `top` and the read.
    }
    return Object.fromEntries(
      raw
        .split("\0")
        .filter(Boolean)
        .map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
    );
  });
}

/** The container's configured environment, as `podman inspect` shows it to anyone who can run it. */
export function inspectEnv(name: string): string[] {
  const r = Bun.spawnSync(["podman", "inspect", "--format", "{{json .Config.Env}}", name], {
    stdout: "pipe",
    stderr: "pipe",
  });
  if (r.exitCode !== 0) throw new Error(`podman inspect ${name} failed: ${r.stderr.toString()}`);
  return JSON.parse(r.stdout.toString()) as string[];
}

export { type MountEntry, parseMountinfo } from "../../../src/doctor/attack/mountinfo.ts";
