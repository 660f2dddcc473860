/**
 * A scripted stand-in for the Anthropic Messages API on loopback. It is NOT a model: every
 * `POST /v1/messages` consumes the next scripted turn and answers with it, as a real SSE stream
 * (`stream: true`, what Claude Code sends) or as one JSON message. Used by tests and by `carapace demo`,
 * which must label it as a scripted model wherever its output is shown.
 */

export type ScriptedTurn =
  | { text: string }
  | { tool_use: { name: string; input: Record<string, unknown> } }
  /** The API refuses the request with this status (a 400 is not retried: the session fails at once). */
  | { error: { status: number; message: string } }
  | { respond: (req: unknown) => ScriptedTurn };

export interface ScriptedRequest {
  path: string;
  headers: Record<string, string>;
  body: unknown;
}

export interface ScriptedModel {
  url: string;
  requests: ScriptedRequest[];
  /** Replaces the turns not yet answered: one model serves several sessions, each with its own script. */
  script(turns: ScriptedTurn[]): void;
  close(): Promise<void>;
}

export const SCRIPTED_MODEL_NAME = "carapace-scripted-model";
export const NO_MORE_TURNS_TEXT = "(scripted model: no more turns)";

type ContentBlock =
  | { type: "text"; text: string }
  | { type: "tool_use"; id: string; name: string; input: Record<string, unknown> };

/** Rough token estimate (4 characters a token) so usage fields and count_tokens carry plausible numbers. */
function estimateTokens(value: unknown): number {
  const text = typeof value === "string" ? value : (JSON.stringify(value) ?? "");
  return Math.max(1, Math.ceil(text.length / 4));
}

function randomId(prefix: string): string {
  return `${prefix}_scripted_${crypto.randomUUID().replaceAll("-", "").slice(0, 20)}`;
}

type ApiRefusal = { type: "error"; status: number; message: string };

function resolveTurn(turn: ScriptedTurn | undefined, req: unknown): ContentBlock | ApiRefusal {
  let current: ScriptedTurn = turn ?? { text: NO_MORE_TURNS_TEXT };
  // A respond() may return another respond(); bounded so a script cannot loop forever.
  for (let depth = 0; "respond" in current; depth++) {
    if (depth >= 8) return { type: "text", text: "(scripted model: respond() nested too deeply)" };
    current = current.respond(req);
  }
  if ("text" in current) return { type: "text", text: current.text };
  if ("error" in current) return { type: "error", status: current.error.status, message: current.error.message };
  return { type: "tool_use", id: randomId("toolu"), name: current.tool_use.name, input: current.tool_use.input };
}

function sse(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

interface Reply {
  id: string;
  model: string;
  block: ContentBlock;
  inputTokens: number;
  outputTokens: number;
}

function stopReason(block: ContentBlock): "end_turn" | "tool_use" {
  return block.type === "tool_use" ? "tool_use" : "end_turn";
}

/** The event sequence of a streamed message with one content block, as the Messages API sends it. */
export function sseEvents(reply: Reply): string[] {
  const { block } = reply;
  const events = [
    sse("message_start", {
      type: "message_start",
      message: {
        id: reply.id,
        type: "message",
        role: "assistant",
        model: reply.model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: reply.inputTokens, output_tokens: 1 },
      },
    }),
    sse(
      "content_block_start",
      block.type === "text"
        ? { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }
        : {
            type: "content_block_start",
            index: 0,
            content_block: { type: "tool_use", id: block.id, name: block.name, input: {} },
          },
    ),
    sse("ping", { type: "ping" }),
  ];
  if (block.type === "text") {
    // Two deltas, so clients that render text as it arrives see it arrive in pieces.
    const half = Math.ceil(block.text.length / 2);
    for (const piece of [block.text.slice(0, half), block.text.slice(half)]) {
      if (piece !== "") {
        events.push(
          sse("content_block_delta", {
            type: "content_block_delta",
            index: 0,
            delta: { type: "text_delta", text: piece },
          }),
        );
      }
    }
  } else {
    events.push(
      sse("content_block_delta", {
        type: "content_block_delta",
        index: 0,
        delta: { type: "input_json_delta", partial_json: JSON.stringify(block.input) },
      }),
    );
  }
  events.push(
    sse("content_block_stop", { type: "content_block_stop", index: 0 }),
    sse("message_delta", {
      type: "message_delta",
      delta: { stop_reason: stopReason(block), stop_sequence: null },
      usage: { output_tokens: reply.outputTokens },
    }),
    sse("message_stop", { type: "message_stop" }),
  );
  return events;
}

function jsonMessage(reply: Reply): unknown {
  return {
    id: reply.id,
    type: "message",
    role: "assistant",
    model: reply.model,
    content: [reply.block],
    stop_reason: stopReason(reply.block),
    stop_sequence: null,
    usage: { input_tokens: reply.inputTokens, output_tokens: reply.outputTokens },
  };
}

function apiError(status: number, type: string, message: string): Response {
  return Response.json({ type: "error", error: { type, message } }, { status });
}

function presentedKey(headers: Headers): string | null {
  const apiKey = headers.get("x-api-key");
  if (apiKey !== null) return apiKey;
  const auth = headers.get("authorization");
  return auth?.startsWith("Bearer ") ? auth.slice("Bearer ".length) : null;
}

export async function startScriptedModel(o: {
  port?: number;
  hostname?: "127.0.0.1";
  turns: ScriptedTurn[];
  expectKey?: string;
}): Promise<ScriptedModel> {
  const turns = [...o.turns];
  const requests: ScriptedRequest[] = [];
  const server = Bun.serve({
    hostname: o.hostname ?? "127.0.0.1",
    port: o.port ?? 0,
    async fetch(req) {
      const url = new URL(req.url);
      let body: unknown = null;
      const raw = await req.text();
      try {
        body = raw === "" ? null : JSON.parse(raw);
      } catch {
        body = raw;
      }
      requests.push({ path: url.pathname + url.search, headers: Object.fromEntries(req.headers), body });
      if (o.expectKey !== undefined && presentedKey(req.headers) !== o.expectKey) {
        return apiError(401, "authentication_error", "scripted model: invalid x-api-key");
      }
      if (req.method !== "POST") return apiError(405, "invalid_request_error", "scripted model: use POST");
      if (url.pathname === "/v1/messages/count_tokens") {
        return Response.json({
          input_tokens: estimateTokens((body as { messages?: unknown } | null)?.messages ?? body),
        });
      }
      if (url.pathname !== "/v1/messages")
        return apiError(404, "not_found_error", `scripted model: no ${url.pathname}`);
      const request = (typeof body === "object" && body !== null ? body : {}) as { model?: unknown; stream?: unknown };
      const block = resolveTurn(turns.shift(), body);
      if (block.type === "error")
        return apiError(
          block.status,
          block.status === 429 ? "rate_limit_error" : "invalid_request_error",
          block.message,
        );
      const reply: Reply = {
        id: randomId("msg"),
        model: typeof request.model === "string" ? request.model : SCRIPTED_MODEL_NAME,
        block,
        inputTokens: estimateTokens(raw),
        outputTokens: estimateTokens(block.type === "text" ? block.text : block.input),
      };
      if (request.stream !== true) return Response.json(jsonMessage(reply), { headers: { "request-id": reply.id } });
      const encoder = new TextEncoder();
      const events = sseEvents(reply);
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          for (const event of events) controller.enqueue(encoder.encode(event));
          controller.close();
        },
      });
      return new Response(stream, {
        headers: { "content-type": "text/event-stream", "cache-control": "no-cache", "request-id": reply.id },
      });
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    requests,
    script: (next) => {
      turns.splice(0, turns.length, ...next);
    },
    close: async () => {
      await server.stop(true);
    },
  };
}

/** config.toml for a home whose sessions talk to a scripted model at `modelUrl` on loopback. */
export function scriptedModelConfig(modelUrl: string, engine: string, image: string): string {
  const port = new URL(modelUrl).port;
  return (
    `[network]\nupstream_url = "${modelUrl}"\nupstream_allowlist = ["127.0.0.1:${port}"]\n` +
    `[runtime]\nengine = ${JSON.stringify(engine)}\nimage = ${JSON.stringify(image)}\n`
  );
}
