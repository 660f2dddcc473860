import { accessSync, constants, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { readAnthropicCredential } from "../agent/egress-credential.ts";
import { checkUpstream, EgressConfigError } from "../agent/egress-policy.ts";
import { checkCredentialDir } from "../config/credentials.ts";
import { homePath } from "../config/home.ts";
import { loadConfig } from "../config/load.ts";
import { CARAPACE_VERSION } from "../config/version.ts";
import { detectRuntime } from "../container/detect.ts";
import { CLAUDE_CODE_VERSION, imageState } from "../container/image.ts";
import { assertSocketPathFits } from "../container/sockets.ts";
import { stripTerminalEscapes } from "../core/response/terminal-text.ts";
import { fixOf, headlineOf } from "../errors/user-error.ts";
import type { FailureCategory } from "../plugins/failure.ts";
import { FAILURE_FIXES } from "../plugins/fixes.ts";
import { type ListedPlugin, listPlugins } from "../plugins/validate.ts";
import { libzmqLocation, zmqVersion } from "../transport/libzmq.ts";
import type { CheckResult } from "./check.ts";

type Config = ReturnType<typeof loadConfig>;

export function checkConfig(home: string): { result: CheckResult; config: Config | null } {
  try {
    const config = loadConfig(home);
    const path = join(home, "config.toml");
    try {
      checkUpstream(config.network.upstream_url, config.network.upstream_allowlist);
    } catch (e) {
      if (!(e instanceof EgressConfigError)) throw e;
      return {
        config,
        result: { id: "config.network", title: "config.toml", level: "fail", detail: e.what, fix: e.fix },
      };
    }
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
    const fix = fixOf(e, "correct the key named above");
    return {
      config: null,
      result: { id: "config", title: "config.toml", level: "fail", detail: headlineOf(e), fix },
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

/** Agent sessions need an Anthropic credential on the host; without one every `prompt` fails. */
export function checkApiCredential(home: string): CheckResult {
  const base = { id: "credentials.api", title: "Anthropic credential" } as const;
  let stored: ReturnType<typeof readAnthropicCredential>;
  try {
    stored = readAnthropicCredential(home);
  } catch (e) {
    return { ...base, level: "fail", detail: (e as Error).message, fix: "run `carapace auth status` for details" };
  }
  if (stored === null)
    return {
      ...base,
      level: "fail",
      detail: "no API key or OAuth token is stored, so agent sessions cannot reach the model",
      fix: "run `carapace setup` (or `carapace auth api-key`)",
    };
  return { ...base, level: "pass", detail: `${stored.kind === "api-key" ? "an API key" : "an OAuth token"} is stored` };
}

export function checkSockets(home: string): CheckResult {
  const dir = homePath(home, "run/sockets");
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
    return [
      {
        id: "runtime",
        title: "container runtime",
        level: "fail",
        detail: headlineOf(e),
        fix: fixOf(e, "install Podman"),
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
        fix: "build it with `carapace image build` (or run `carapace setup`)",
      });
    else
      results.push({
        id: "image",
        title: "agent image",
        level: "warn",
        detail: `${tag} is stale: ${state.reasons.join("; ")}`,
        fix: "rebuild it with `carapace image build`",
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

/** Plugins as the loader would see them at the next start: one line when all load, a failure per plugin that would not. */
export function checkPlugins(home: string, config: Config | null): CheckResult[] {
  let listed: ListedPlugin[];
  try {
    listed = listPlugins({ home, dirs: config?.plugins.dirs ?? [], disabled: config?.plugins.disabled ?? [] });
  } catch (e) {
    return [
      {
        id: "plugins",
        title: "plugins",
        level: "fail",
        detail: `the plugin folders could not be read: ${(e as Error).message}`,
        fix: "check the permissions of $CARAPACE_HOME/plugins and the [plugins] dirs",
      },
    ];
  }
  const failed = listed.filter((p) => p.state === "failed");
  const loading = listed.filter((p) => p.state === "ok");
  if (failed.length === 0) {
    const names = loading.map((p) => `${p.name} (${p.source})`).join(", ") || "none";
    return [{ id: "plugins", title: "plugins", level: "pass", detail: `${loading.length} would load: ${names}` }];
  }
  return failed.map((p) => {
    const category = p.category as FailureCategory;
    return {
      id: `plugins.${p.name}`,
      title: `plugin ${p.name}`,
      level: "fail" as const,
      detail: `${p.source} plugin would not load: ${category}: ${stripTerminalEscapes(p.reason ?? "").replace(/[\r\n]+/g, " ")}`,
      fix: `${FAILURE_FIXES[category] ?? "run `carapace plugin validate` on its folder"}; the other plugins still load`,
    };
  });
}
