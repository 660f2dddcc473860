import type { ArgumentField } from "../core/approval-request.ts";
import { singleLine } from "../core/response/terminal-text.ts";

/**
 * How a pending high-risk call is shown to the person deciding: every argument on its own line, long
 * values cut per field with the full length stated. Everything printed is agent-written, so it is made
 * single-line and escape-free again here, whatever the core sent.
 */
export function fieldLines(fields: readonly ArgumentField[], indent = "    "): string[] {
  if (fields.length === 0) return [`${indent}(no arguments)`];
  return fields.map(
    (f) =>
      `${indent}${singleLine(f.path)} = ${singleLine(f.preview)}${f.cut ? `  (cut: ${f.length} characters in full)` : ""}`,
  );
}

/** What `carapace prompt` prints when the agent's call waits for a person. */
export function confirmationNotice(u: {
  id: string;
  tool: string;
  fields?: ArgumentField[];
  request_hash?: string;
}): string {
  const id = singleLine(u.id);
  return [
    `[prompt] the agent wants to run high-risk tool ${singleLine(u.tool)} with these arguments:`,
    ...fieldLines(u.fields ?? [], "         "),
    `         full arguments: carapace approvals show ${id}   request hash: ${hashPrefix(u.request_hash ?? "")}`,
    `         approve: carapace approve ${id}   deny: carapace deny ${id}`,
    "",
  ].join("\n");
}

export function hashPrefix(hash: string): string {
  return singleLine(hash).slice(0, 16);
}
