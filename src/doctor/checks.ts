import { accessSync, constants, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { checkCredentialDir } from "../config/credentials.ts";
import { loadConfig } from "../config/load.ts";
import { CARAPACE_VERSION } from "../config/version.ts";
import { detectRuntime } from "../container/detect.ts";
import { CLAUDE_CODE_VERSION, imageState } from "../container/image.ts";
import { assertSocketPathFits } from "../container/sockets.ts";
import { libzmqLocation, zmqVersion } from "../transport/libzmq.ts";
import type { CheckResult } from "./check.ts";

type Config = ReturnType<typeof loadConfig>;

export function checkConfig(home: string): { result: CheckResult; config: Config | null } {
  try {
    const config = loadConfig(home);
    const path = join(home, "config.toml");
    return {
      config,
      result: {
        id: "config",
        title: "config.toml",
        level: "pass",
        detail: existsSync(path) ? `${path} is valid` : "no config.toml: defaults in use",
      },
    };
  } catch (e) {
    const message = (e as Error).message;
    const fix = message.match(/Fix: (.*)$/)?.[1] ?? "correct the key named above";
    return {
      config: null,
      result: { id: "config", title: "config.toml", level: "fail", detail: message.replace(/ Fix: .*$/, ""), fix },
    };
  }
}

export function checkCredentials(home: string): CheckResult[] {
  const findings = checkCredentialDir(home);
  if (findings.length === 0)
    return [
      { id: "credentials", title: "credential directory", level: "pass", detail: "0700, files 0600, no symlinks" },
    ];
  return findings.map((f) => ({
    id: `credentials.${f.check}`,
    title: "credential directory",
    level: f.level,
    detail: f.message,
    fix: f.fix,
  }));
}

export function checkSockets(home: string): CheckResult {
  const dir = join(home, "run/sockets");
  const sample = join(dir, "0".repeat(32), "request.sock");
  try {
    assertSocketPathFits(sample);
  } catch {
    return {
      id: "sockets",
      title: "socket paths",
      level: "fail",
      detail: `session socket paths would be ${Buffer.byteLength(sample)} bytes, over the 107-byte Unix limit`,
      fix: "use a shorter CARAPACE_HOME (e.g. ~/.carapace)",
    };
  }
  try {
    // The nearest existing ancestor must be writable: `start` creates the rest.
    let probe = dir;
    while (!existsSync(probe) && dirname(probe) !== probe) probe = dirname(probe);
    accessSync(probe, constants.W_OK);
  } catch {
    return {
      id: "sockets",
      title: "socket paths",
      level: "fail",
      detail: `${dir} is not writable`,
      fix: `make ${dir} writable by you`,
    };
  }
  return {
    id: "sockets",
    title: "socket paths",
    level: "pass",
    detail: `${Buffer.byteLength(sample)} of 107 bytes, writable`,
  };
}

export function checkLibzmq(): CheckResult {
  try {
    const version = zmqVersion();
    const loc = libzmqLocation();
    const note =
      loc.origin === "cache" ? " ($TMPDIR is not executable: a copy under $CARAPACE_HOME/cache is used)" : "";
    return {
      id: "libzmq",
      title: "embedded libzmq",
      level: "pass",
      detail: `libzmq ${version} from ${loc.origin}${note}`,
    };
  } catch (e) {
    return {
      id: "libzmq",
      title: "embedded libzmq",
      level: "fail",
      detail: (e as Error).message,
      fix: "set CARAPACE_LIBZMQ to a libzmq.so, or make $TMPDIR executable",
    };
  }
}

export async function checkRuntime(config: Config | null): Promise<CheckResult[]> {
  const preference = (config?.runtime.engine ?? "auto") as "auto";
  let detected: Awaited<ReturnType<typeof detectRuntime>>;
  try {
    detected = await detectRuntime({ preference });
  } catch (e) {
    const message = (e as Error).message;
    return [
      {
        id: "runtime",
        title: "container runtime",
        level: "fail",
        detail: message.replace(/ Fix: .*$/, ""),
        fix: message.match(/Fix: (.*)$/)?.[1] ?? "install Podman",
      },
    ];
  }
  const { info, runtime } = detected;
  const results: CheckResult[] = [
    {
      id: "runtime",
      title: "container runtime",
      level: "pass",
      detail: `${info.name} ${info.version}, isolation ${info.isolation}${info.rootless ? " (rootless)" : ""}, cgroup ${info.cgroupVersion || "unknown"}`,
    },
  ];
  results.push(
    info.enforcesLimits
      ? { id: "runtime.limits", title: "memory/pids limits", level: "pass", detail: "enforced" }
      : {
          id: "runtime.limits",
          title: "memory/pids limits",
          level: config?.runtime.allow_rootless_unlimited ? "warn" : "fail",
          detail: "this runtime would silently drop memory and pids limits (rootless on cgroup v1)",
          fix: "run Podman rootful, or move to a cgroup v2 host",
        },
  );
  const tag = config?.runtime.image ?? `localhost/carapace-agent:${CARAPACE_VERSION}`;
  try {
    const state = await imageState(runtime, tag, {
      carapaceVersion: CARAPACE_VERSION,
      claudeCodeVersion: CLAUDE_CODE_VERSION,
    });
    if (state.state === "current")
      results.push({
        id: "image",
        title: "agent image",
        level: "pass",
        detail: `${tag} is current (Claude Code ${CLAUDE_CODE_VERSION})`,
      });
    else if (state.state === "missing")
      results.push({
        id: "image",
        title: "agent image",
        level: "fail",
        detail: `${tag} is missing`,
        fix: "build it: bun build/image/agent.ts --ipc dist/ipc",
      });
    else
      results.push({
        id: "image",
        title: "agent image",
        level: "warn",
        detail: `${tag} is stale: ${state.reasons.join("; ")}`,
        fix: "rebuild it: bun build/image/agent.ts --ipc dist/ipc",
      });
  } catch (e) {
    results.push({
      id: "image",
      title: "agent image",
      level: "fail",
      detail: (e as Error).message,
      fix: "check the container runtime",
    });
  }
  return results;
}
