/** Host-side directories of one agent session, laid out as the agent layer will make them. */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { grantDirToAgent } from "../../src/container/agent-tree.ts";
import { type AgentContainerOptions, instanceId } from "../../src/container/lockdown.ts";
import { AGENT_USER } from "../../src/container/paths.ts";
import { provisionSessionDir } from "../../src/container/sockets.ts";

export const TEST_AGENT_USER = `${AGENT_USER.uid}:${AGENT_USER.gid}`;

export function sessionFixture(home: string, sessionId: string): Omit<AgentContainerOptions, "name" | "image"> {
  const { dir } = provisionSessionDir(home, sessionId, TEST_AGENT_USER);
  const group = join(home, "data", "groups", "test");
  const workspaceDir = join(group, "workspace");
  const claudeStateDir = join(group, "claude");
  const skillsDir = join(home, "skills");
  const input = join(home, "input", sessionId);
  for (const d of [workspaceDir, claudeStateDir, skillsDir, input]) mkdirSync(d, { recursive: true, mode: 0o755 });
  writeFileSync(join(skillsDir, "memory.md"), "# memory skill\n");
  writeFileSync(join(input, "CLAUDE.md"), "# brief\n");
  writeFileSync(join(input, "prompt.md"), "hello\n");
  grantDirToAgent(workspaceDir, TEST_AGENT_USER, 0o755);
  grantDirToAgent(claudeStateDir, TEST_AGENT_USER, 0o755);
  return {
    instance: instanceId(home),
    sessionId,
    group: "test",
    sessionDir: dir,
    workspaceDir,
    claudeStateDir,
    skillsDir,
    claudeMdFile: join(input, "CLAUDE.md"),
    promptFile: join(input, "prompt.md"),
    user: TEST_AGENT_USER,
  };
}
