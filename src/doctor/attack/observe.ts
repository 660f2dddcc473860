/**
 * The host's view of the attack session's container while it runs: the environment of each of its
 * processes (read from the host's /proc, so nothing inside the container can hide a secret from the
 * check) and the environment `inspect` shows anyone who can run the runtime.
 */
import { readFileSync } from "node:fs";
import { LABELS } from "../../container/paths.ts";

export interface ContainerView {
  envs: Record<string, string>[];
  inspectEnv: string[];
}

function run(argv: string[]): string | null {
  const r = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
  return r.exitCode === 0 ? r.stdout.toString() : null;
}

function parseEnviron(raw: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of raw.split("\0")) {
    const at = kv.indexOf("=");
    if (at > 0) out[kv.slice(0, at)] = kv.slice(at + 1);
  }
  return out;
}

/** The running container of carapace home `instance`, seen from the host; null if it cannot be read. */
export function viewContainer(engine: "podman" | "docker", instance: string): ContainerView | null {
  const names = run([engine, "ps", "--filter", `label=${LABELS.instance}=${instance}`, "--format", "{{.Names}}"]);
  const name = names?.trim().split("\n")[0];
  if (!name) return null;
  const top = run(engine === "podman" ? [engine, "top", name, "hpid"] : [engine, "top", name, "-o", "pid"]);
  const inspected = run([engine, "inspect", "--format", "{{json .Config.Env}}", name]);
  if (top === null || inspected === null) return null;
  const pids = top
    .split("\n")
    .slice(1)
    .map((l) => Number.parseInt(l.trim(), 10))
    .filter((n) => Number.isSafeInteger(n) && n > 0);
  const envs: Record<string, string>[] = [];
  for (const pid of pids) {
    try {
      envs.push(parseEnviron(readFileSync(`/proc/${pid}/environ`, "utf8")));
    } catch {
      return null;
    }
  }
  if (envs.length === 0) return null;
  return { envs, inspectEnv: JSON.parse(inspected) as string[] };
}
