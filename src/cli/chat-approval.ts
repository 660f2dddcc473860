import { singleLine } from "../core/response/terminal-text.ts";
import { fieldLines, hashPrefix } from "./approval-view.ts";
import { control } from "./control-client.ts";
import { formatError } from "./errors.ts";
import type { SyncLineReader } from "./line-reader.ts";
import type { Confirmation } from "./turn-view.ts";

const ASKS = 3;

/**
 * A high-risk call of the chat's own session, decided where the owner is: every argument is shown,
 * then `yes` approves and `no` denies it (bound to the request hash shown), and an empty line leaves
 * it to `carapace approve|deny` elsewhere. Only the person at this REPL answers: it reads the owner's
 * own input, and the core records the decision with this process's uid.
 */
export function askApproval(home: string, u: Confirmation, input: SyncLineReader, interactive: boolean): void {
  const id = singleLine(u.id);
  const say = (line: string) => process.stderr.write(`[chat] ${line}\n`);
  say(`the agent wants to run high-risk tool ${singleLine(u.tool)} with these arguments:`);
  for (const line of fieldLines(u.fields, "         ")) process.stderr.write(`${line}\n`);
  say(`full arguments: carapace approvals show ${id}   request hash: ${hashPrefix(u.request_hash)}`);
  for (let ask = 0; ask < ASKS; ask++) {
    if (interactive)
      process.stderr.write("[chat] approve it? yes / no (Enter: decide later with `carapace approve`): ");
    const answer = input.next()?.trim().toLowerCase() ?? "";
    if (answer === "" || answer === "/skip") {
      say(`left waiting: carapace approve ${id}   or   carapace deny ${id}`);
      return;
    }
    const approve = answer === "yes" || answer === "y";
    if (!approve && answer !== "no" && answer !== "n") {
      say('answer "yes" or "no" (or an empty line to decide later)');
      continue;
    }
    try {
      control(home, approve ? "approve" : "deny", { id: u.id, hash: u.request_hash });
      say(`${approve ? "approved" : "denied"} (request ${hashPrefix(u.request_hash)})`);
    } catch (error) {
      process.stderr.write(`${formatError(error)}\n`);
    }
    return;
  }
  say(`left waiting: carapace approve ${id}   or   carapace deny ${id}`);
}
