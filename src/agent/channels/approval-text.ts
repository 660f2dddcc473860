/**
 * What the owner reads in their private chat before pressing Approve or Deny: the tool, the group,
 * who started the conversation, every argument on its own line and the full canonical arguments, and
 * the request hash the decision is bound to. Plain text (the channel sends no markup).
 */
import type { ArgumentField } from "../../core/approval-request.ts";
import { singleLine } from "../../core/response/terminal-text.ts";

export interface ApprovalSubject {
  tool: string;
  group: string;
  requestHash: string;
  fields: readonly ArgumentField[];
  /** The canonical arguments, exactly as the tool will get them. */
  canonical: string;
  /** Who wrote the message that started this turn, and where. */
  from: { name: string; id: string; chat: string; owner: boolean };
}

const FULL_ARGUMENTS_CHARS = 3000;

export function approvalText(s: ApprovalSubject): string {
  const fields =
    s.fields.length === 0
      ? ["  (no arguments)"]
      : s.fields.map(
          (f) =>
            `  ${singleLine(f.path)} = ${singleLine(f.preview)}${f.cut ? ` (${f.length} characters in full)` : ""}`,
        );
  const full =
    s.canonical.length > FULL_ARGUMENTS_CHARS
      ? `${s.canonical.slice(0, FULL_ARGUMENTS_CHARS)}… (${s.canonical.length} characters; see \`carapace approvals show\`)`
      : s.canonical;
  return [
    `Approval needed in group ${s.group}`,
    `The agent wants to run the high-risk tool ${singleLine(s.tool)} while answering ${singleLine(s.from.name)} (user ${s.from.id}) in chat ${s.from.chat}.`,
    "",
    "Arguments:",
    ...fields,
    "",
    "Full arguments:",
    full,
    "",
    `Request hash: ${s.requestHash.slice(0, 16)}`,
    s.from.owner
      ? "Approve only if you expect this call."
      : "Approve only if you expect this call: the message that started it is not from you.",
  ].join("\n");
}

export function decisionText(original: string, decision: string, by: string): string {
  return `${original}\n\n— ${decision}${by ? ` by ${by}` : ""}`;
}
