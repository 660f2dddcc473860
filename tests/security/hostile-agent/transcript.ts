/**
 * What the model received during one session, read back from the requests Claude Code sent to the
 * scripted model: each hostile tool call paired with the tool_result Claude Code returned for it, the
 * system prompt, and the instructions (CLAUDE.md and other context) Claude Code put before the prompt.
 */
import type { ScriptedRequest } from "../../../src/agent/scripted-model.ts";

export interface ToolExchange {
  name: string;
  input: Record<string, unknown>;
  /** The tool_result content as text (text blocks joined). */
  result: string;
  /** Claude Code marked the result as an error (refused, failed, or the command exited non-zero). */
  isError: boolean;
}

type Block = { type: string; [k: string]: unknown };
type Message = { role: string; content: string | Block[] };
type Body = { system?: string | Block[]; messages?: Message[] };

function blocks(content: string | Block[] | undefined): Block[] {
  if (content === undefined) return [];
  return typeof content === "string" ? [{ type: "text", text: content }] : content;
}

function text(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return JSON.stringify(content ?? "");
  return content.map((b: Block) => (typeof b.text === "string" ? b.text : JSON.stringify(b))).join("\n");
}

function messagesRequests(requests: readonly ScriptedRequest[]): Body[] {
  return requests
    .filter((r) => r.path.startsWith("/v1/messages") && !r.path.startsWith("/v1/messages/count_tokens"))
    .map((r) => (typeof r.body === "object" && r.body !== null ? (r.body as Body) : {}));
}

export class Transcript {
  private readonly bodies: Body[];

  constructor(readonly requests: readonly ScriptedRequest[]) {
    this.bodies = messagesRequests(requests);
  }

  /** Every tool call the model made, in order, with the result Claude Code sent back for it. */
  get exchanges(): ToolExchange[] {
    const last = this.bodies.at(-1);
    const uses = new Map<string, { name: string; input: Record<string, unknown> }>();
    const out: ToolExchange[] = [];
    for (const message of last?.messages ?? []) {
      for (const block of blocks(message.content)) {
        if (block.type === "tool_use") {
          uses.set(block.id as string, {
            name: block.name as string,
            input: (block.input ?? {}) as Record<string, unknown>,
          });
        } else if (block.type === "tool_result") {
          const use = uses.get(block.tool_use_id as string);
          out.push({
            name: use?.name ?? "?",
            input: use?.input ?? {},
            result: text(block.content),
            isError: block.is_error === true,
          });
        }
      }
    }
    return out;
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
    return text(this.bodies[0]?.system ?? "");
  }

  /** Everything the model was given before the first turn: the system prompt and the first user message(s). */
  get instructions(): string {
    const first = this.bodies[0];
    const before: string[] = [this.systemPrompt];
    for (const message of first?.messages ?? []) {
      if (message.role === "assistant") break;
      for (const block of blocks(message.content)) before.push(text([block]));
    }
    return before.join("\n");
  }

  /** Every byte the model received in the session, for the one check that a canary never appears. */
  get everything(): string {
    return JSON.stringify(this.bodies);
  }
}
