import { defineCommand } from "citty";
import type { TaskUpdate } from "../agent/manager.ts";
import { singleLine, stripTerminalEscapes } from "../core/response/terminal-text.ts";
import { isGroupName } from "../protocol/group-name.ts";
import { askApproval } from "./chat-approval.ts";
import { controlStream, EXIT_NO_CORE } from "./control-client.ts";
import { CliError, EXIT, formatError, formatMessage } from "./errors.ts";
import { SyncLineReader } from "./line-reader.ts";
import { onTerminal } from "./progress.ts";
import { withHome } from "./run-command.ts";
import { type TurnUpdate, turnView } from "./turn-view.ts";

const IDLE_TIMEOUT_MS = 15 * 60_000;
const CONVERSATION_ID = /^[0-9a-f]{20}$/;
const HELP = "/new starts a new conversation, /exit leaves (so does the end of input), /help shows this.";

type Done = Extract<TaskUpdate, { kind: "done" }>;

/** What a line of input asks for. */
export type ChatLine = { kind: "turn"; text: string } | { kind: "new" | "exit" | "help" | "skip" | "unknown" };

export function parseChatLine(line: string): ChatLine {
  const text = line.trim();
  if (text === "") return { kind: "skip" };
  if (!text.startsWith("/")) return { kind: "turn", text: line };
  const command = text.split(/\s+/)[0];
  if (command === "/new") return { kind: "new" };
  if (command === "/exit" || command === "/quit") return { kind: "exit" };
  if (command === "/help") return { kind: "help" };
  return { kind: "unknown" };
}

export const chatCommand = defineCommand({
  meta: {
    name: "chat",
    description:
      "Talk with the agent on the host: every line you send continues one conversation.\n" +
      "Answers stream as they arrive; a high-risk call is shown inline, where you approve (yes) or deny (no) it.\n" +
      `${HELP}\n` +
      "With stdin piped, each line is one turn (and the answer to an approval question when one is asked).\n" +
      "Exit codes: 0 every turn was answered; 1 a turn failed or the conversation is unknown; 2 usage; 3 the core is not running.",
  },
  args: {
    group: { type: "string", description: "Group to talk to", default: "default" },
    conversation: { type: "string", description: "Continue this conversation (its id) instead of starting one" },
  },
  run: ({ args }) =>
    withHome((home) => {
      if (!isGroupName(args.group))
        throw new CliError("CHAT", "invalid group name", "use lowercase [a-z0-9_-], at most 32 characters", EXIT.usage);
      if (args.conversation !== undefined && !CONVERSATION_ID.test(args.conversation))
        throw new CliError(
          "CHAT",
          "--conversation takes a conversation id (20 hexadecimal characters)",
          "pass the id an earlier `carapace chat` printed",
          EXIT.usage,
        );
      return chatLoop(home, args.group, args.conversation, new SyncLineReader());
    }),
});

/** The REPL: reads turns and commands from `input` until /exit or its end; the exit code. */
export function chatLoop(home: string, group: string, resume: string | undefined, input: SyncLineReader): number {
  const interactive = process.stdin.isTTY === true && onTerminal(process.stderr);
  const say = (line: string) => process.stderr.write(`[chat] ${line}\n`);
  let conversation = resume;
  let failed = false;
  say(`group ${group}${conversation ? `, continuing conversation ${conversation}` : ""}. ${HELP}`);
  for (;;) {
    if (interactive) process.stderr.write("you> ");
    const line = input.next();
    if (line === null) break;
    const parsed = parseChatLine(line);
    if (parsed.kind === "exit") break;
    if (parsed.kind === "help") say(HELP);
    if (parsed.kind === "unknown") say(`unknown command. ${HELP}`);
    if (parsed.kind === "new") {
      conversation = undefined;
      say("a new conversation starts with your next message.");
    }
    if (parsed.kind !== "turn") continue;
    const view = turnView({
      label: "chat",
      stages: interactive,
      onConfirmation: (u) => askApproval(home, u, input, interactive),
    });
    try {
      const done = controlStream(
        home,
        "prompt",
        { text: parsed.text, group, ...(conversation ? { conversation } : {}) },
        (raw) => {
          const u = raw as TurnUpdate;
          if (u.kind === "conversation" && u.conversation !== conversation) {
            conversation = u.conversation;
            say(
              `conversation ${singleLine(u.conversation)} (continue it later: carapace chat --conversation ${singleLine(u.conversation)})`,
            );
          }
          view.onUpdate(u);
        },
        IDLE_TIMEOUT_MS,
      ) as Done;
      if (done.ok && !view.streamed()) view.out(`${done.answer}\n`);
      if (!done.ok) {
        failed = true;
        const error = stripTerminalEscapes(done.error ?? "the agent failed");
        process.stderr.write(`${formatMessage("AGENT", error, `see \`carapace audit tail --group ${group}\``)}\n`);
      }
    } catch (error) {
      // No core, or a conversation the core does not know: nothing later in this chat could work.
      if (error instanceof CliError && (error.exitCode === EXIT_NO_CORE || error.component === "CONVERSATION"))
        throw error;
      failed = true;
      process.stderr.write(`${formatError(error)}\n`);
    }
  }
  return failed ? EXIT.failure : EXIT.ok;
}
