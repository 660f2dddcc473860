/** Fixed paths inside the agent image and container; the Containerfile and entrypoint.sh use the same. */
export const AGENT_PATHS = {
  workspace: "/workspace",
  home: "/home/agent",
  claudeState: "/home/agent/.claude",
  /** Claude Code's managed-policy skills and CLAUDE.md: read whatever --setting-sources says. */
  skills: "/etc/claude-code/.claude/skills",
  claudeMd: "/etc/claude-code/CLAUDE.md",
  sessionDir: "/run/carapace",
  prompt: "/carapace/prompt.md",
  /** A pre-started container's per-container tmpfs: the session token, written by the entrypoint at the claim. */
  tokenDir: "/run/carapace-token",
  /** Claude Code's apiKeyHelper in a pre-started container: prints that token once the claim wrote it. */
  apiKeyHelper: "/usr/local/lib/carapace/api-key-helper",
  managedSettings: "/etc/claude-code/managed-settings.json",
  ipc: "/usr/local/bin/ipc",
  libzmq: "/usr/local/lib/carapace/libzmq.so",
  claude: "/usr/local/bin/claude",
  entrypoint: "/usr/local/bin/carapace-entrypoint",
} as const;

/** File name of the request socket inside a session directory (host and container alike). */
export const REQUEST_SOCKET_NAME = "request.sock";

/** The unprivileged uid:gid the agent runs as under a rootful runtime (Debian's `nobody`). */
export const AGENT_USER = { uid: 65534, gid: 65534 } as const;

export const LABELS = {
  managed: "io.carapace.managed",
  instance: "io.carapace.instance",
  session: "io.carapace.session",
  group: "io.carapace.group",
} as const;
