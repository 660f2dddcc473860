import { defineCommand } from "citty";
import type { TaskUpdate } from "../agent/manager.ts";
import { stripTerminalEscapes } from "../core/response/terminal-text.ts";
import { confirmationNotice } from "./approval-view.ts";
import { controlStream } from "./control-client.ts";
import { CliError, EXIT, formatMessage } from "./errors.ts";
import { onTerminal } from "./progress.ts";
import { withHome } from "./run-command.ts";

const IDLE_TIMEOUT_MS = 15 * 60_000;

export const promptCommand = defineCommand({
  meta: {
    name: "prompt",
    description:
      "Give the agent a task: Claude Code runs in a locked-down container and the answer is printed.\n" +
      "Text streams as it arrives; high-risk tool calls wait for `carapace approve <id>`.\n" +
      "Exit codes: 0 answered; 1 the agent failed; 2 usage; 3 the core is not running.",
  },
  args: {
    text: { type: "positional", description: "The prompt (or - to read it from stdin)", required: true },
    group: { type: "string", description: "Group to run as", default: "default" },
    json: { type: "boolean", description: "Print the raw events as JSON lines", default: false },
  },
  run: ({ args }) =>
    withHome(async (home) => {
      const text = args.text === "-" ? await Bun.stdin.text() : String(args.text);
      if (text.trim() === "") throw new CliError("PROMPT", "the prompt is empty", "pass the task as text", EXIT.usage);
      // Agent-written text: terminal escapes are stripped before anything reaches the terminal.
      const out = (s: string) => process.stdout.write(stripTerminalEscapes(s));
      let streamed = false;
      // The wait blocks this process (no spinner can turn): one line per stage, on a terminal only.
      const stage = (line: string) => onTerminal() && !args.json && process.stderr.write(`[prompt] ${line}\n`);
      stage("starting the agent's locked-down container…");
      const done = controlStream(
        home,
        "prompt",
        { text, group: args.group },
        (raw) => {
          const u = raw as TaskUpdate;
          if (args.json) return void process.stdout.write(`${JSON.stringify(u)}\n`);
          if (u.kind === "state" && u.state === "queued")
            process.stderr.write("[prompt] queued behind another session of this group\n");
          if (u.kind === "state" && u.state === "started") stage("the agent is working…");
          if (u.kind === "confirmation") process.stderr.write(confirmationNotice(u));
          if (u.kind === "event" && u.event.topic === "response.chunk") {
            streamed = true;
            out(`${u.event.payload.text}\n`);
          }
          if (u.kind === "event" && u.event.topic === "response.tool_call")
            process.stderr.write(`[tool] ${u.event.payload.name}\n`);
        },
        IDLE_TIMEOUT_MS,
      ) as Extract<TaskUpdate, { kind: "done" }>;
      if (!done.ok) {
        const auditFix = `see \`carapace audit tail --group ${args.group}\``;
        const error = stripTerminalEscapes(done.error ?? "the agent failed");
        process.stderr.write(`${formatMessage("AGENT", error, auditFix)}\n`);
        return EXIT.failure;
      }
      // The answer is the last streamed text; print it only when nothing was streamed.
      if (!args.json && !streamed) out(`${done.answer}\n`);
      return EXIT.ok;
    }),
});
