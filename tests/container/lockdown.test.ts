import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SECTION_KEYS } from "../../src/config/keys.ts";
import { PodmanRuntime } from "../../src/container/adapters/podman.ts";
import { assertLimitsEnforced } from "../../src/container/limits.ts";
import {
  type AgentContainerOptions,
  agentRunSpec,
  agentUser,
  DEFAULT_CLAUDE_ARGS,
  instanceId,
} from "../../src/container/lockdown.ts";
import { managedSettings, managedSettingsJson } from "../../src/container/managed-settings.ts";
import type { RuntimeInfo } from "../../src/container/runtime.ts";
import { FakeExec } from "./fake-exec.ts";

let root: string;
let opts: AgentContainerOptions;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "cl-"));
  for (const d of ["sock", "ws", "state", "skills"]) mkdirSync(join(root, d));
  writeFileSync(join(root, "CLAUDE.md"), "# brief");
  writeFileSync(join(root, "prompt.md"), "hello");
  opts = {
    name: "carapace-s1",
    image: "localhost/carapace-agent:1",
    instance: instanceId("/home/u/.carapace"),
    sessionId: "s1",
    group: "family",
    sessionDir: join(root, "sock"),
    workspaceDir: join(root, "ws"),
    claudeStateDir: join(root, "state"),
    skillsDir: join(root, "skills"),
    claudeMdFile: join(root, "CLAUDE.md"),
    promptFile: join(root, "prompt.md"),
    user: "65534:65534",
  };
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("agent run spec", () => {
  test("podman flags carry the whole container lockdown", () => {
    const args = new PodmanRuntime({ exec: new FakeExec(() => undefined), ociRuntime: "runc" }).runArgs(
      agentRunSpec(opts),
    );
    for (const flag of [
      "--read-only",
      "--read-only-tmpfs=false",
      "--network=none",
      "--cap-drop=ALL",
      "--security-opt=no-new-privileges",
      "--pids-limit=512",
      `--memory=${2 * 1024 ** 3}`,
      "nofile=1024:1024",
      "nproc=1024:1024",
      "--runtime=runc",
      "io.carapace.managed=true",
      "io.carapace.session=s1",
      "io.carapace.group=family",
      `io.carapace.instance=${opts.instance}`,
    ]) {
      expect(args).toContain(flag);
    }
    expect(args[args.indexOf("--user") + 1]).toBe("65534:65534");
  });

  test("a pre-started container differs from a cold one only by its mode and its token tmpfs", () => {
    const cold = agentRunSpec(opts);
    const { tmpfs, env, ...rest } = agentRunSpec({ ...opts, prestarted: true });
    expect(tmpfs).toEqual([{ target: "/run/carapace-token", sizeBytes: 4096, mode: 0o700 }]);
    expect(env).toEqual({ ...cold.env, CARAPACE_PRESTARTED: "1" });
    expect({ ...rest, env: cold.env }).toEqual(cold);
    expect(cold.tmpfs).toBeUndefined();
  });

  test("mounts: socket dir, workspace and state writable; skills, CLAUDE.md (managed paths) and prompt read-only", () => {
    const spec = agentRunSpec(opts);
    const byTarget = Object.fromEntries(spec.mounts.map((m) => [m.target, m.readonly]));
    expect(byTarget).toEqual({
      "/run/carapace": false,
      "/workspace": false,
      "/home/agent/.claude": false,
      "/etc/claude-code/.claude/skills": true,
      "/etc/claude-code/CLAUDE.md": true,
      "/carapace/prompt.md": true,
    });
    // No read-only mount inside a writable one: the runtime never makes a mount point in an agent tree.
    const writable = spec.mounts.filter((m) => !m.readonly).map((m) => m.target);
    for (const m of spec.mounts.filter((x) => x.readonly)) {
      for (const w of writable) expect(m.target.startsWith(`${w}/`)).toBe(false);
    }
    expect(spec.env.CARAPACE_SOCKET).toBe("/run/carapace/request.sock");
  });

  test("Claude Code reads no settings, CLAUDE.md or MCP config but the host's; callers cannot add any", () => {
    expect(agentRunSpec(opts).args).toEqual([...DEFAULT_CLAUDE_ARGS, "--setting-sources", "", "--strict-mcp-config"]);
    expect(agentRunSpec(opts).env.CLAUDE_CODE_DISABLE_AUTO_MEMORY).toBe("1");
    for (const arg of [
      "--setting-sources=user,project",
      "--settings",
      "--mcp-config",
      "--plugin-dir",
      "--add-dir",
      "--append-system-prompt-file",
      "--agents",
    ]) {
      expect(() => agentRunSpec({ ...opts, claudeArgs: ["-p", arg, "x"] })).toThrow(
        /configuration the host did not write/,
      );
    }
  });

  test("refuses symlinked, missing or relative mount sources", () => {
    symlinkSync(join(root, "skills"), join(root, "skills-link"));
    expect(() => agentRunSpec({ ...opts, skillsDir: join(root, "skills-link") })).toThrow(/is a symlink/);
    expect(() => agentRunSpec({ ...opts, workspaceDir: join(root, "nope") })).toThrow(/does not exist/);
    expect(() => agentRunSpec({ ...opts, promptFile: "prompt.md" })).toThrow(/not absolute/);
    expect(() => agentRunSpec({ ...opts, claudeMdFile: join(root, "ws") })).toThrow(/not a regular file/);
  });

  test("refuses secrets in env and arguments that bypass permissions", () => {
    expect(() => agentRunSpec({ ...opts, env: { ANTHROPIC_API_KEY: "x" } })).toThrow(/looks like a secret.*stdin/);
    expect(() => agentRunSpec({ ...opts, claudeArgs: ["-p", "--dangerously-skip-permissions"] })).toThrow(/bypass/);
    expect(() => agentRunSpec({ ...opts, claudeArgs: ["--permission-mode=bypassPermissions"] })).toThrow(/bypass/);
    expect(agentRunSpec({ ...opts, env: { ANTHROPIC_BASE_URL: "http://127.0.0.1:9" } }).env.ANTHROPIC_BASE_URL).toBe(
      "http://127.0.0.1:9",
    );
  });

  test("the agent runs as nobody under a rootful runtime, as the host user under rootless podman", () => {
    expect(agentUser({ name: "podman", rootless: false })).toBe("65534:65534");
    expect(agentUser({ name: "podman", rootless: true })).toBe(`${process.getuid?.()}:${process.getgid?.()}`);
  });

  test("instance ids are stable per home and differ between homes", () => {
    expect(instanceId("/a")).toBe(instanceId("/a"));
    expect(instanceId("/a")).not.toBe(instanceId("/b"));
  });
});

describe("unenforceable limits", () => {
  const info = (over: Partial<RuntimeInfo>): RuntimeInfo => ({
    name: "podman",
    version: "4.3.1",
    rootless: true,
    isolation: "rootless-namespace",
    enforcesLimits: false,
    cgroupVersion: "v1",
    ...over,
  });
  test("rootless podman on cgroup v1 is refused unless explicitly allowed", () => {
    expect(() => assertLimitsEnforced(info({}), false)).toThrow(
      /rootless podman on cgroup v1 cannot enforce memory and pids limits.*Fix:.*`carapace config set runtime\.allow_rootless_unlimited true`/,
    );
    // The key the fix names is the one the manager reads.
    expect(SECTION_KEYS.runtime.allow_rootless_unlimited.kind).toBe("boolean");
    expect(() => assertLimitsEnforced(info({}), true)).not.toThrow();
    expect(() => assertLimitsEnforced(info({ enforcesLimits: true, rootless: false }), false)).not.toThrow();
  });
});

describe("Claude Code managed settings", () => {
  test("allow only ipc through Bash (plus read-only tools); deny web, edits and sub-agents; no bypass, only the Bash guard hook", () => {
    const s = managedSettings() as { permissions: Record<string, unknown> } & Record<string, unknown>;
    expect(s.permissions.allow).toEqual(["Bash(ipc:*)", "Read", "Glob", "Grep", "Skill"]);
    expect(s.permissions.deny).toEqual(
      expect.arrayContaining(["WebFetch", "WebSearch", "Edit", "Write", "Task", "CronCreate"]),
    );
    expect(s.permissions.defaultMode).toBe("dontAsk");
    expect(s.permissions.disableBypassPermissionsMode).toBe("disable");
    // A managed disableAllHooks would switch the guard off too; allowManagedHooksOnly keeps others out.
    expect(s.disableAllHooks).toBe(false);
    expect(s.allowManagedHooksOnly).toBe(true);
    expect(s.allowManagedPermissionRulesOnly).toBe(true);
    expect(s.disableSkillShellExecution).toBe(true);
    // The one hook: ipc guard-bash on every Bash call, spawned without a shell; a failing hook blocks.
    expect(s.hooks).toEqual({
      PreToolUse: [
        {
          matcher: "Bash",
          hooks: [
            { type: "command", command: "/usr/local/bin/ipc", args: ["guard-bash"], timeout: 30, onFailure: "block" },
          ],
        },
      ],
    });
    expect(
      (managedSettings({ allowReadOnlyTools: false }) as { permissions: { allow: string[] } }).permissions.allow,
    ).toEqual(["Bash(ipc:*)"]);
  });

  test("the Bash timeout outlasts confirmation plus handler time", () => {
    const env = (managedSettings() as { env: Record<string, string> }).env;
    expect(Number(env.BASH_DEFAULT_TIMEOUT_MS)).toBeGreaterThan(5 * 60_000 + 30_000);
  });

  test("container/managed-settings.json is the generated file", () => {
    const checkedIn = readFileSync(join(import.meta.dir, "../../container/managed-settings.json"), "utf8");
    expect(checkedIn).toBe(managedSettingsJson());
  });
});
