/**
 * The one stream-json user message a pre-started Claude Code is given at the claim. That Claude Code
 * started before the session's CLAUDE.md existed and reads its memory files only as it starts, so the
 * host's CLAUDE.md travels in the message instead, as the block Claude Code itself puts first in a cold
 * session's first message (its wording, Claude Code 2.1.x; tests/e2e/agent-prestart.test.ts compares the
 * two), followed by the prompt. JSON.stringify makes it one line whatever the texts hold.
 */
import { AGENT_PATHS } from "../container/paths.ts";

const MEMORY_PREAMBLE =
  "Codebase and user instructions are shown below. Be sure to adhere to these instructions. IMPORTANT: These instructions OVERRIDE any default behavior and you MUST follow them exactly as written.";

export function prestartedMessage(prompt: string, claudeMd: string): string {
  const memory = `<system-reminder>\n${MEMORY_PREAMBLE}\n\nContents of ${AGENT_PATHS.claudeMd} (organization-managed policy instructions):\n\n${claudeMd.trimEnd()}\n</system-reminder>`;
  const content = [...(claudeMd.trim() ? [{ type: "text", text: memory }] : []), { type: "text", text: prompt }];
  return `${JSON.stringify({ type: "user", message: { role: "user", content } })}\n`;
}
