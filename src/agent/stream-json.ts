/**
 * Claude Code's `--output-format stream-json --verbose` output, one JSON object per line, turned into
 * the core's `response.*` events. Unknown lines are ignored; nothing here trusts the content.
 */
export type AgentEvent =
  | { topic: "response.system"; payload: { subtype: string; tools?: string[]; model?: string } }
  | { topic: "response.chunk"; payload: { text: string } }
  | { topic: "response.tool_call"; payload: { id: string; name: string; input: unknown } }
  | { topic: "response.tool_result"; payload: { id: string; content: string; is_error: boolean } }
  | { topic: "response.end"; payload: { result: string; subtype: string; duration_ms?: number; num_turns?: number } }
  | { topic: "response.error"; payload: { message: string; subtype?: string } };

const MAX_TEXT = 64 * 1024;

function text(value: unknown): string {
  if (typeof value === "string") return value.slice(0, MAX_TEXT);
  if (Array.isArray(value)) {
    return value
      .map((v) =>
        typeof v === "object" && v !== null && typeof (v as { text?: unknown }).text === "string"
          ? (v as { text: string }).text
          : "",
      )
      .join("")
      .slice(0, MAX_TEXT);
  }
  return "";
}

export function eventsFromLine(line: string): AgentEvent[] {
  let msg: Record<string, unknown>;
  try {
    const parsed = JSON.parse(line);
    if (typeof parsed !== "object" || parsed === null) return [];
    msg = parsed as Record<string, unknown>;
  } catch {
    return [];
  }
  const content = (msg.message as { content?: unknown } | undefined)?.content;
  const blocks = Array.isArray(content) ? (content as Record<string, unknown>[]) : [];
  switch (msg.type) {
    case "system":
      return [
        {
          topic: "response.system",
          payload: {
            subtype: String(msg.subtype ?? ""),
            ...(Array.isArray(msg.tools) ? { tools: (msg.tools as unknown[]).map(String) } : {}),
            ...(typeof msg.model === "string" ? { model: msg.model } : {}),
          },
        },
      ];
    case "assistant":
      return blocks.flatMap((b): AgentEvent[] => {
        if (b.type === "text") return [{ topic: "response.chunk", payload: { text: text(b.text) } }];
        if (b.type === "tool_use")
          return [
            {
              topic: "response.tool_call",
              payload: { id: String(b.id ?? ""), name: String(b.name ?? ""), input: b.input ?? {} },
            },
          ];
        return [];
      });
    case "user":
      return blocks
        .filter((b) => b.type === "tool_result")
        .map((b) => ({
          topic: "response.tool_result",
          payload: { id: String(b.tool_use_id ?? ""), content: text(b.content), is_error: b.is_error === true },
        }));
    case "result":
      if (msg.subtype === "success" && msg.is_error !== true) {
        return [
          {
            topic: "response.end",
            payload: {
              result: text(msg.result),
              subtype: "success",
              ...(typeof msg.duration_ms === "number" ? { duration_ms: msg.duration_ms } : {}),
              ...(typeof msg.num_turns === "number" ? { num_turns: msg.num_turns } : {}),
            },
          },
        ];
      }
      return [
        {
          topic: "response.error",
          payload: {
            message: text(msg.result) || `Claude Code ended with ${String(msg.subtype)}`,
            subtype: String(msg.subtype ?? "error"),
          },
        },
      ];
    default:
      return [];
  }
}
