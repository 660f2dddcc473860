/**
 * What the model received during one session, read back from the requests Claude Code sent to the
 * scripted model: each hostile tool call paired with the tool_result Claude Code returned for it, the
 * system prompt, and the instructions (CLAUDE.md and other context) Claude Code put before the prompt.
 */
import type { ScriptedRequest } from "../../../src/agent/scripted-model.ts";
import {
  contentText,
  instructionsOf,
  type MessagesBody,
  messagesBodies,
  type ToolExchange,
  toolExchanges,
} from "../../../src/doctor/attack/exchanges.ts";

export type { ToolExchange };

export class Transcript {
  private readonly bodies: MessagesBody[];

  constructor(readonly requests: readonly ScriptedRequest[]) {
    this.bodies = messagesBodies(requests);
  }

  /** Every tool call the model made, in order, with the result Claude Code sent back for it. */
  get exchanges(): ToolExchange[] {
    return toolExchanges(this.bodies.at(-1));
  }

  /** The n-th tool exchange; throws with the whole list when the session ended before it. */
  exchange(n: number): ToolExchange {
    const all = this.exchanges;
    const hit = all[n];
    if (!hit) {
      throw new Error(
        `the session has ${all.length} tool exchanges, not ${n + 1}: ${JSON.stringify(all.map((e) => e.name))}`,
      );
    }
    return hit;
  }

  /** The system prompt of the first request. */
  get systemPrompt(): string {
    return contentText(this.bodies[0]?.system ?? "");
  }

  /** Everything the model was given before the first turn: the system prompt and the first user message(s). */
  get instructions(): string {
    return instructionsOf(this.bodies[0]);
  }

  /** Every byte the model received in the session, for the one check that a canary never appears. */
  get everything(): string {
    return JSON.stringify(this.bodies);
  }
}
