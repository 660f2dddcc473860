/**
 * Builds the run specification of a locked-down agent container (docs/THREAT_MODEL.md): read-only root and
 * /tmp, no network, every capability dropped, no-new-privileges, an unprivileged uid, pids/memory
 * limits and explicit ulimits, a label on every container, and the session's mounts: the socket
 * directory (rw), the group's workspace (rw), a fresh per-session Claude state (rw), and the host's
 * skills, CLAUDE.md and prompt (ro).
 *
 * What configures Claude Code comes only from the host (docs/THREAT_MODEL.md): it reads no user,
 * project or local settings (`--setting-sources ""`), no MCP configuration but the (empty) command line
 * one, and its CLAUDE.md and skills are the managed-policy ones under /etc/claude-code, mounted read-only
 * from files the host wrote for this session. None of the read-only mounts sits inside a writable
 * one, so the runtime never creates a mount point in a tree the agent can write.
 */
import { createHash } from "node:crypto";
import { lstatSync } from "node:fs";
import { isAbsolute } from "node:path";
import { ContainerError } from "./errors.ts";
import { AGENT_PATHS, AGENT_USER, LABELS, REQUEST_SOCKET_NAME } from "./paths.ts";
import type { BindMount, ResourceLimits, RunSpec, RuntimeInfo } from "./runtime.ts";

export const DEFAULT_AGENT_LIMITS: ResourceLimits = {
  memoryBytes: 2 * 1024 * 1024 * 1024,
  pids: 512,
  nofile: 1024,
  nproc: 1024,
};

/** Claude Code in print mode with a machine-readable stream; the prompt comes from a mounted file. */
export const DEFAULT_CLAUDE_ARGS = ["-p", "--output-format", "stream-json", "--verbose"];

/**
 * Always appended to Claude Code's arguments: read no settings file but the image's managed settings
 * (no ~/.claude or /workspace settings.json, settings.local.json, CLAUDE.md, .claude/ skills, agents,
 * commands, output styles or rules) and no MCP server configuration from anywhere.
 */
export const SESSION_CONFIG_ARGS = ["--setting-sources", "", "--strict-mcp-config"] as const;

/** Arguments that would switch Claude Code's permission checks off; refused outright. */
const FORBIDDEN_ARGS = /^--(dangerously-skip-permissions|allow-dangerously-skip-permissions|permission-mode)(=|$)/;
/** Arguments that would load configuration or instructions from somewhere other than the host's files. */
const CONFIG_ARGS =
  /^--(setting-sources|settings|mcp-config|plugin-dir|plugin-url|add-dir|agents?|system-prompt(-file)?|append-system-prompt(-file)?|safe-mode|bare)(=|$)/;
const SECRET_ENV_NAME = /(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL)/i;
const CONTAINER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;

export interface AgentContainerOptions {
  name: string;
  image: string;
  /** Identifies this carapace home; orphan cleanup only touches containers with the same value. */
  instance: string;
  sessionId: string;
  group: string;
  /** Host session directory holding the request socket; mounted read-write at /run/carapace. */
  sessionDir: string;
  workspaceDir: string;
  claudeStateDir: string;
  skillsDir: string;
  claudeMdFile: string;
  promptFile: string;
  /** "uid:gid"; see agentUser(). */
  user: string;
  limits?: Partial<ResourceLimits>;
  /** Non-secret environment (e.g. ANTHROPIC_BASE_URL of the in-container forwarder). */
  env?: Record<string, string>;
  claudeArgs?: string[];
  /**
   * A pre-started container: the entrypoint starts Claude Code before any session claims it, and gets
   * its session token at the claim into a per-container tmpfs (the only difference from a cold session).
   */
  prestarted?: boolean;
}

/** The tmpfs holding a pre-started container's session token: one line, so a page is plenty. */
export const TOKEN_TMPFS_BYTES = 4096;

/** Stable id of a carapace home, used as the instance label. */
export function instanceId(home: string): string {
  return createHash("sha256").update(home).digest("hex").slice(0, 16);
}

/**
 * The uid:gid the agent runs as. Rootful: Debian's `nobody` (65534). Rootless Podman maps the host user
 * into the container with keep-id, so the agent runs as that (already unprivileged) user.
 */
export function agentUser(info: Pick<RuntimeInfo, "rootless" | "name">): string {
  if (info.rootless && info.name === "podman" && typeof process.getuid === "function") {
    return `${process.getuid()}:${process.getgid?.() ?? process.getuid()}`;
  }
  return `${AGENT_USER.uid}:${AGENT_USER.gid}`;
}

function checkSource(label: string, path: string, kind: "dir" | "file"): void {
  if (!isAbsolute(path)) {
    throw new ContainerError(`${label} path "${path}" is not absolute`, "pass an absolute host path");
  }
  if (/[,\n]/.test(path)) {
    throw new ContainerError(`${label} path "${path}" contains a comma or newline`, "use a path without them");
  }
  let st: ReturnType<typeof lstatSync>;
  try {
    st = lstatSync(path);
  } catch {
    throw new ContainerError(`${label} "${path}" does not exist`, `create it before starting the session`);
  }
  if (st.isSymbolicLink()) {
    throw new ContainerError(`${label} "${path}" is a symlink`, "mount the real path; symlinks are refused");
  }
  if (kind === "dir" ? !st.isDirectory() : !st.isFile()) {
    throw new ContainerError(
      `${label} "${path}" is not a ${kind === "dir" ? "directory" : "regular file"}`,
      `pass a ${kind}`,
    );
  }
}

export function agentMounts(o: AgentContainerOptions): BindMount[] {
  checkSource("session directory", o.sessionDir, "dir");
  checkSource("workspace", o.workspaceDir, "dir");
  checkSource("Claude state directory", o.claudeStateDir, "dir");
  checkSource("skills directory", o.skillsDir, "dir");
  checkSource("CLAUDE.md", o.claudeMdFile, "file");
  checkSource("prompt file", o.promptFile, "file");
  return [
    { source: o.sessionDir, target: AGENT_PATHS.sessionDir, readonly: false },
    { source: o.workspaceDir, target: AGENT_PATHS.workspace, readonly: false },
    { source: o.claudeStateDir, target: AGENT_PATHS.claudeState, readonly: false },
    { source: o.skillsDir, target: AGENT_PATHS.skills, readonly: true },
    { source: o.claudeMdFile, target: AGENT_PATHS.claudeMd, readonly: true },
    { source: o.promptFile, target: AGENT_PATHS.prompt, readonly: true },
  ];
}

export function agentRunSpec(o: AgentContainerOptions): RunSpec {
  if (!CONTAINER_NAME.test(o.name)) {
    throw new ContainerError(`container name "${o.name}" is not valid`, "use letters, digits, '_', '.', '-'");
  }
  const args = o.claudeArgs ?? DEFAULT_CLAUDE_ARGS;
  const forbidden = args.find((a) => FORBIDDEN_ARGS.test(a));
  if (forbidden) {
    throw new ContainerError(`Claude Code argument "${forbidden}" would bypass the lockdown`, "remove it");
  }
  const config = args.find((a) => CONFIG_ARGS.test(a));
  if (config) {
    throw new ContainerError(
      `Claude Code argument "${config}" would load configuration the host did not write for this session`,
      "remove it; the session's CLAUDE.md and skills are mounted by the host",
    );
  }
  const env = { ...(o.env ?? {}) };
  for (const key of Object.keys(env)) {
    if (SECRET_ENV_NAME.test(key)) {
      throw new ContainerError(
        `environment variable ${key} looks like a secret; container env is visible in \`inspect\``,
        "pass secrets on stdin (the entrypoint protocol), never as container env",
      );
    }
  }
  env.CARAPACE_SOCKET = `${AGENT_PATHS.sessionDir}/${REQUEST_SOCKET_NAME}`;
  // Auto-memory is read from the Claude state whatever --setting-sources says; the host's memory brief
  // is the only memory a session gets.
  env.CLAUDE_CODE_DISABLE_AUTO_MEMORY = "1";
  if (o.prestarted) env.CARAPACE_PRESTARTED = "1";
  return {
    name: o.name,
    image: o.image,
    args: [...args, ...SESSION_CONFIG_ARGS],
    labels: {
      [LABELS.managed]: "true",
      [LABELS.instance]: o.instance,
      [LABELS.session]: o.sessionId,
      [LABELS.group]: o.group,
    },
    mounts: agentMounts(o),
    ...(o.prestarted ? { tmpfs: [{ target: AGENT_PATHS.tokenDir, sizeBytes: TOKEN_TMPFS_BYTES, mode: 0o700 }] } : {}),
    env,
    user: o.user,
    workdir: AGENT_PATHS.workspace,
    network: "none",
    readOnlyRoot: true,
    dropAllCapabilities: true,
    noNewPrivileges: true,
    limits: { ...DEFAULT_AGENT_LIMITS, ...(o.limits ?? {}) },
  };
}
