/**
 * What a scripted model was sent by Claude Code, read back from its recorded requests: each tool call
 * paired with the tool_result Claude Code returned, and the instructions it gave before the first turn.
 */
import type { ScriptedRequest } from "../../agent/scripted-model.ts";

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
export type MessagesBody = { model?: unknown; system?: string | Block[]; messages?: Message[] };

function blocks(content: string | Block[] | undefined): Block[] {
  if (content === undefined) return [];
  return typeof content === "string" ? [{ type: "text", text: content }] : content;
}

export function contentText(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return JSON.stringify(content ?? "");
  return content.map((b: Block) => (typeof b.text === "string" ? b.text : JSON.stringify(b))).join("\n");
}

/** The bodies of the Messages API calls among `requests`, in order. */
export function messagesBodies(requests: readonly ScriptedRequest[]): MessagesBody[] {
  return requests
    .filter((r) => r.path.startsWith("/v1/messages") && !r.path.startsWith("/v1/messages/count_tokens"))
    .map((r) => (typeof r.body === "object" && r.body !== null ? (r.body as MessagesBody) : {}));
}

/** Every tool call in the conversation `body` carries, with the result Claude Code sent back for it. */
export function toolExchanges(body: MessagesBody | undefined): ToolExchange[] {
  const uses = new Map<string, { name: string; input: Record<string, unknown> }>();
  const out: ToolExchange[] = [];
  for (const message of body?.messages ?? []) {
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
          result: contentText(block.content),
          isError: block.is_error === true,
        });
      }
    }
  }
  return out;
}

/** Everything the model was given before its first turn: the system prompt and the first user message(s). */
export function instructionsOf(body: MessagesBody | undefined): string {
  const before: string[] = [contentText(body?.system ?? "")];
  for (const message of body?.messages ?? []) {
    if (message.role === "assistant") break;
    for (const block of blocks(message.content)) before.push(contentText([block]));
  }
  return before.join("\n");
}
