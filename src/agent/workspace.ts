import { chmodSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { grantDirToAgent, removeAgentTree } from "../container/agent-tree.ts";

export interface SessionFiles {
  dir: string;
  promptFile: string;
  claudeMdFile: string;
  skillsDir: string;
  workspaceDir: string;
  claudeStateDir: string;
}

/**
 * Host-side files of one agent session, all under run/agents/<session>: the read-only inputs (prompt,
 * CLAUDE.md, skills) and a fresh Claude state directory (Claude Code's ~/.claude), so nothing an
 * earlier session wrote there configures this one. The group's workspace persists; the host only
 * creates it and hands its top directory to the agent (fd-based, links refused), never reading,
 * following or changing anything inside it.
 */
export function prepareSessionFiles(
  home: string,
  sessionId: string,
  group: string,
  agentUser: string,
  inputs: SessionInputs,
): SessionFiles {
  const files = reserveSessionFiles(home, sessionId, group, agentUser);
  writeSessionInputs(files, inputs);
  return files;
}

export interface SessionInputs {
  prompt: string;
  claudeMd: string;
  skills: Record<string, string>;
}

/**
 * The session's files with empty inputs (an empty prompt and CLAUDE.md, no skills): what a pre-started
 * container is given before any session claims it. writeSessionInputs fills them in at the claim.
 */
export function reserveSessionFiles(home: string, sessionId: string, group: string, agentUser: string): SessionFiles {
  const dir = join(home, "run", "agents", sessionId);
  // A directory left by a crashed host may hold what its agent wrote: removed without following links.
  removeAgentTree(dir);
  // The core runs with umask 077: modes are set with chmod, which the umask does not touch.
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  chmodSync(dir, 0o755);
  const promptFile = join(dir, "prompt.md");
  const claudeMdFile = join(dir, "CLAUDE.md");
  for (const file of [promptFile, claudeMdFile]) {
    writeFileSync(file, "", { mode: 0o444 });
    chmodSync(file, 0o444);
  }
  const skillsDir = join(dir, "skills");
  mkdirSync(skillsDir, { recursive: true, mode: 0o555 });
  chmodSync(skillsDir, 0o555);
  const claudeStateDir = join(dir, "claude-state");
  // Claude Code's TMPDIR inside the container (the root filesystem and /tmp are read-only), made while
  // the fresh state directory is still the host's alone.
  mkdirSync(join(claudeStateDir, "tmp"), { recursive: true, mode: 0o700 });
  grantDirToAgent(join(claudeStateDir, "tmp"), agentUser);
  grantDirToAgent(claudeStateDir, agentUser);
  const workspaces = join(home, "data", "workspaces");
  mkdirSync(workspaces, { recursive: true, mode: 0o700 });
  const workspaceDir = join(workspaces, group);
  grantDirToAgent(workspaceDir, agentUser);
  return { dir, promptFile, claudeMdFile, skillsDir, workspaceDir, claudeStateDir };
}

/**
 * Writes the prompt, CLAUDE.md and skills into reserved files in place: the container's read-only
 * mounts hold these inodes, so a pre-started container sees them once the host wrote them.
 */
export function writeSessionInputs(files: SessionFiles, inputs: SessionInputs): void {
  for (const [file, text] of [
    [files.promptFile, inputs.prompt],
    [files.claudeMdFile, inputs.claudeMd],
  ] as const) {
    chmodSync(file, 0o644);
    writeFileSync(file, text);
    chmodSync(file, 0o444);
  }
  chmodSync(files.skillsDir, 0o755);
  for (const [name, text] of Object.entries(inputs.skills)) {
    const skillDir = join(files.skillsDir, name);
    mkdirSync(skillDir, { recursive: true, mode: 0o755 });
    writeFileSync(join(skillDir, "SKILL.md"), text, { mode: 0o444 });
    chmodSync(join(skillDir, "SKILL.md"), 0o444);
    chmodSync(skillDir, 0o555);
  }
  chmodSync(files.skillsDir, 0o555);
}

/** Removes the session's files, the Claude state its agent wrote included, never following a link. */
export function removeSessionFiles(home: string, sessionId: string): void {
  removeAgentTree(join(home, "run", "agents", sessionId));
}

/** Removes what crashed sessions left under run/agents (every session not in `live`), links unfollowed. */
export function removeStaleSessionFiles(home: string, live: ReadonlySet<string>): string[] {
  const root = join(home, "run", "agents");
  let entries: string[];
  try {
    entries = readdirSync(root);
  } catch {
    return [];
  }
  const removed = entries.filter((id) => !live.has(id));
  for (const id of removed) removeAgentTree(join(root, id));
  return removed;
}

export function claudeMd(group: string, brief: string | null, tools: { name: string; description: string }[]): string {
  const toolLines = tools.map((t) => `- \`${t.name}\`: ${t.description}`).join("\n");
  return `# Carapace session (group: ${group})

You run inside a locked-down container with no network. Your only way to act outside it is the
\`ipc\` command, which sends a tool call to the Carapace host:

    ipc <tool> '<json arguments>'

Run exactly one such call per command, on one line, with nothing before or after it: anything else
(\`;\`, \`&&\`, pipes, \`$(…)\`, redirections, other programs) is refused. Write a single quote inside
the arguments as \`'\\''\`.

It prints the result as JSON; on an error it prints an error object with a \`code\` (for example
VALIDATION_FAILED with a \`field\`) and exits 1: read it, fix the arguments and try again. A call to a
high-risk tool waits until the user approves it.

## Tools you can call
${toolLines}
${brief ? `\n## Memory from earlier sessions\n\n${brief}\n` : ""}`;
}
