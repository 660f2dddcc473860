/**
 * The Claude Code managed settings baked into the agent image at /etc/claude-code/managed-settings.json.
 * Managed settings outrank user, project and CLI settings, so nothing the agent writes into its
 * workspace or ~/.claude can widen them. Keys checked against Claude Code 2.1.x's settings schema.
 */
import { DEFAULT_LIMITS } from "../protocol/limits.ts";

export interface ManagedSettingsOptions {
  /** Let Claude read its workspace and skills (Read/Glob/Grep). Default true. */
  allowReadOnlyTools?: boolean;
  /** Bash tool timeout; must exceed confirmation + handler timeout so a waiting `ipc` is not killed. */
  bashTimeoutMs?: number;
}

/** The only command Claude Code's Bash tool may run. */
export const IPC_BASH_RULE = "Bash(ipc:*)";
export const READ_ONLY_TOOLS = ["Read", "Glob", "Grep", "Skill"] as const;
/**
 * Denied explicitly even though `dontAsk` already denies anything not allowed: defence in depth, and a
 * denied tool is not even offered to the model. Covers web access, file edits, sub-agents, schedulers
 * and worktrees (Claude Code 2.1.x tool names; unknown names are harmless).
 */
export const DENIED_TOOLS = [
  "WebFetch",
  "WebSearch",
  "Edit",
  "MultiEdit",
  "Write",
  "NotebookEdit",
  "Task",
  "Agent",
  "TaskStop",
  "ListAgents",
  "SendMessage",
  "Workflow",
  "Monitor",
  "CronCreate",
  "CronDelete",
  "CronList",
  "ScheduleWakeup",
  "EnterWorktree",
  "ExitWorktree",
  "ReportFindings",
] as const;

/**
 * Claude Code's PreToolUse hook on the Bash tool: `ipc guard-bash` (src/ipc/guard-bash.ts) refuses
 * anything but one plain ipc call. Exec form (`args`): spawned directly, no shell in between. A hook
 * that fails, times out or cannot start blocks the call (onFailure) instead of letting it through.
 */
export const BASH_GUARD_HOOK = {
  type: "command",
  command: "/usr/local/bin/ipc",
  args: ["guard-bash"],
  timeout: 30,
  onFailure: "block",
} as const;

export function defaultBashTimeoutMs(): number {
  return DEFAULT_LIMITS.confirmationTimeoutMs + DEFAULT_LIMITS.handlerTimeoutMs + 30_000;
}

export function managedSettings(options: ManagedSettingsOptions = {}): Record<string, unknown> {
  const bashTimeout = String(options.bashTimeoutMs ?? defaultBashTimeoutMs());
  const readOnly = options.allowReadOnlyTools ?? true;
  return {
    permissions: {
      allow: [IPC_BASH_RULE, ...(readOnly ? READ_ONLY_TOOLS : [])],
      deny: [...DENIED_TOOLS],
      // dontAsk: whatever is not allowed above is denied instead of prompting (there is no human here).
      defaultMode: "dontAsk",
      disableBypassPermissionsMode: "disable",
      disableAutoMode: "disable",
    },
    allowManagedPermissionRulesOnly: true,
    // Only these managed hooks run: settings the agent could write (user, project, local, plugins) add
    // none, and their disableAllHooks cannot switch a managed hook off. disableAllHooks here would.
    allowManagedHooksOnly: true,
    disableAllHooks: false,
    hooks: { PreToolUse: [{ matcher: "Bash", hooks: [BASH_GUARD_HOOK] }] },
    // A skill's inline `!command` would run a shell command without passing the Bash guard.
    disableSkillShellExecution: true,
    allowManagedMcpServersOnly: true,
    allowedMcpServers: [],
    enableAllProjectMcpServers: false,
    env: {
      BASH_DEFAULT_TIMEOUT_MS: bashTimeout,
      BASH_MAX_TIMEOUT_MS: bashTimeout,
      DISABLE_AUTOUPDATER: "1",
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
    },
  };
}

export function managedSettingsJson(options: ManagedSettingsOptions = {}): string {
  return `${JSON.stringify(managedSettings(options), null, 2)}\n`;
}
