import type { TaskUpdate } from "../agent/manager.ts";
import { stripTerminalEscapes } from "../core/response/terminal-text.ts";
import { confirmationNotice } from "./approval-view.ts";

/** What the core streams for one turn: the task's updates, and first which conversation it joined. */
export type TurnUpdate = TaskUpdate | { kind: "conversation"; task: string; conversation: string };
export type Confirmation = Extract<TaskUpdate, { kind: "confirmation" }>;

export interface TurnViewOptions {
  /** The word before every status line: `[prompt]`, `[chat]`. */
  label: string;
  /** Stage lines ("the agent is working…"): on a terminal only. */
  stages: boolean;
  /** How a waiting high-risk call is shown; by default the notice with the approve/deny commands. */
  onConfirmation?: (u: Confirmation) => void;
}

/**
 * Prints one turn as it streams: the agent's text on stdout as it arrives (terminal escapes stripped:
 * it is agent-written), tool calls and waiting approvals on stderr.
 */
export function turnView(options: TurnViewOptions) {
  let streamed = false;
  const out = (s: string) => process.stdout.write(stripTerminalEscapes(s));
  const status = (line: string) => process.stderr.write(`[${options.label}] ${line}\n`);
  return {
    out,
    streamed: () => streamed,
    onUpdate(raw: unknown): void {
      const u = raw as TurnUpdate;
      if (u.kind === "state" && u.state === "queued") status("queued behind another session of this group");
      if (u.kind === "state" && u.state === "started" && options.stages) status("the agent is working…");
      if (u.kind === "confirmation") {
        if (options.onConfirmation) options.onConfirmation(u);
        else process.stderr.write(confirmationNotice(u));
      }
      if (u.kind === "event" && u.event.topic === "response.chunk") {
        streamed = true;
        out(`${u.event.payload.text}\n`);
      }
      if (u.kind === "event" && u.event.topic === "response.tool_call")
        process.stderr.write(`[tool] ${stripTerminalEscapes(u.event.payload.name)}\n`);
    },
  };
}
