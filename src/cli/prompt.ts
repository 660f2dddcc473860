import { defineCommand } from "citty";
import type { TaskUpdate } from "../agent/manager.ts";
import { singleLine, stripTerminalEscapes } from "../core/response/terminal-text.ts";
import { controlStream } from "./control-client.ts";
import { CliError, EXIT, formatMessage } from "./errors.ts";
import { onTerminal } from "./progress.ts";
import { withHome } from "./run-command.ts";
import { turnView } from "./turn-view.ts";

const IDLE_TIMEOUT_MS = 15 * 60_000;
const CONVERSATION_ID = /^[0-9a-f]{20}$/;

export const promptCommand = defineCommand({
  meta: {
    name: "prompt",
    description:
      "Give the agent a task: Claude Code runs in a locked-down container and the answer is printed.\n" +
      "Text streams as it arrives; high-risk tool calls wait for `carapace approve <id>`.\n" +
      "Each prompt starts a new conversation; `--conversation <id>` continues one, showing the agent its earlier turns.\n" +
      "The id is what `carapace chat` prints, or the `conversation` field of the last `--json` line.\n" +
      "Exit codes: 0 answered; 1 the agent failed or no such conversation; 2 usage; 3 the core is not running.",
  },
  args: {
    text: { type: "positional", description: "The prompt (or - to read it from stdin)", required: true },
    group: { type: "string", description: "Group to run as", default: "default" },
    conversation: { type: "string", description: "Continue this conversation (its id) instead of starting one" },
    json: { type: "boolean", description: "Print the raw events as JSON lines", default: false },
  },
  run: ({ args }) =>
    withHome(async (home) => {
      const text = args.text === "-" ? await Bun.stdin.text() : String(args.text);
      if (text.trim() === "") throw new CliError("PROMPT", "the prompt is empty", "pass the task as text", EXIT.usage);
      const conversation = args.conversation;
      if (conversation !== undefined && !CONVERSATION_ID.test(conversation))
        throw new CliError(
          "PROMPT",
          "--conversation takes a conversation id (20 hexadecimal characters)",
          "pass the id `carapace chat` printed",
          EXIT.usage,
        );
      // The wait blocks this process (no spinner can turn): one line per stage, on a terminal only.
      const stages = onTerminal() && !args.json;
      if (stages) process.stderr.write("[prompt] starting the agent's locked-down container…\n");
      const view = turnView({ label: "prompt", stages });
      const done = controlStream(
        home,
        "prompt",
        { text, group: args.group, ...(conversation ? { conversation } : {}) },
        (raw) => {
          if (args.json) return void process.stdout.write(`${JSON.stringify(raw)}\n`);
          view.onUpdate(raw);
        },
        IDLE_TIMEOUT_MS,
      ) as Extract<TaskUpdate, { kind: "done" }>;
      if (stages && done.conversation)
        process.stderr.write(`[prompt] continue with: --conversation ${singleLine(done.conversation)}\n`);
      if (!done.ok) {
        const auditFix = `see \`carapace audit tail --group ${args.group}\``;
        const error = stripTerminalEscapes(done.error ?? "the agent failed");
        process.stderr.write(`${formatMessage("AGENT", error, auditFix)}\n`);
        return EXIT.failure;
      }
      // The answer is the last streamed text; print it only when nothing was streamed.
      if (!args.json && !view.streamed()) view.out(`${done.answer}\n`);
      return EXIT.ok;
    }),
});
