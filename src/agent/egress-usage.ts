/**
 * Token usage read from a Messages API response on its way back to the container, without changing or
 * holding back a byte: SSE `message_start` carries the input usage, `message_delta` the cumulative
 * output usage; a plain JSON message carries both in `usage`. Best effort: anything unparseable is
 * ignored (the bytes still flow).
 */
import { LineSplitter } from "../platform/line-splitter.ts";

export interface Usage {
  inputTokens?: number;
  outputTokens?: number;
}

const MAX_PENDING_LINE = 1024 * 1024;
const MAX_JSON_BODY = 4 * 1024 * 1024;

function count(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/** input_tokens plus the cache fields: every one of them is input the session consumed. */
function inputOf(usage: Record<string, unknown>): number | undefined {
  const parts = [usage.input_tokens, usage.cache_creation_input_tokens, usage.cache_read_input_tokens].map(count);
  if (parts.every((p) => p === undefined)) return undefined;
  return parts.reduce<number>((sum, p) => sum + (p ?? 0), 0);
}

function record(usage: Usage, raw: unknown): void {
  if (typeof raw !== "object" || raw === null) return;
  const u = raw as Record<string, unknown>;
  const input = inputOf(u);
  if (input !== undefined) usage.inputTokens = Math.max(usage.inputTokens ?? 0, input);
  const output = count(u.output_tokens);
  if (output !== undefined) usage.outputTokens = Math.max(usage.outputTokens ?? 0, output);
}

function recordEvent(usage: Usage, data: string): void {
  let event: { type?: unknown; message?: { usage?: unknown }; usage?: unknown };
  try {
    event = JSON.parse(data);
  } catch {
    return;
  }
  if (event.type === "message_start") record(usage, event.message?.usage);
  else if (event.type === "message_delta") record(usage, event.usage);
}

/**
 * The body passed through unchanged, chunk by chunk as it arrives (nothing is held back), reporting the
 * usage it saw when the body ends, fails or is cancelled by the reader. `onEnd` runs exactly once.
 */
export function tapUsage(
  body: ReadableStream<Uint8Array>,
  contentType: string | null,
  onEnd: (usage: Usage) => void,
): ReadableStream<Uint8Array> {
  const usage: Usage = {};
  const decoder = new TextDecoder();
  const isSse = contentType?.includes("text/event-stream") ?? false;
  const reader = body.getReader();
  const lines = new LineSplitter((line) => {
    if (line.startsWith("data:")) recordEvent(usage, line.slice(5).trim());
  }, MAX_PENDING_LINE);
  let jsonBody = "";
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    if (!isSse && jsonBody !== "") {
      try {
        record(usage, (JSON.parse(jsonBody) as { usage?: unknown }).usage);
      } catch {
        // not JSON (an error page, say): no usage to count
      }
    }
    onEnd(usage);
  };
  const observe = (chunk: Uint8Array) => {
    const text = decoder.decode(chunk, { stream: true });
    if (!isSse) {
      if (jsonBody.length + text.length <= MAX_JSON_BODY) jsonBody += text;
      return;
    }
    lines.push(text);
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let result: Awaited<ReturnType<typeof reader.read>>;
      try {
        result = await reader.read();
      } catch (error) {
        end();
        controller.error(error);
        return;
      }
      if (result.done) {
        end();
        controller.close();
        return;
      }
      controller.enqueue(result.value);
      observe(result.value);
    },
    async cancel(reason) {
      end();
      await reader.cancel(reason).catch(() => {});
    },
  });
}
