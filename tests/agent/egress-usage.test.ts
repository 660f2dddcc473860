import { expect, test } from "bun:test";
import { tapUsage, type Usage } from "../../src/agent/egress-usage.ts";

function streamOf(chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const c of chunks) controller.enqueue(encoder.encode(c));
      controller.close();
    },
  });
}

async function drain(body: ReadableStream<Uint8Array>): Promise<string> {
  return await new Response(body).text();
}

test("SSE usage is read across chunk boundaries and CRLF line ends; the bytes pass unchanged", async () => {
  const sse = [
    'event: message_start\r\ndata: {"type":"message_start","message":{"usage":{"input_tokens":5,"cache_read_input_tokens":2}}}\r\n\r\n',
    'data: {"type":"message_delta","usa',
    'ge":{"output_tokens":9}}\n\n',
  ];
  let seen: Usage | undefined;
  const out = await drain(tapUsage(streamOf(sse), "text/event-stream", (u) => (seen = u)));
  expect(out).toBe(sse.join(""));
  expect(seen).toEqual({ inputTokens: 7, outputTokens: 9 });
});

test("a plain JSON message's usage is read at the end", async () => {
  let seen: Usage | undefined;
  await drain(
    tapUsage(streamOf(['{"usage":{"input_tokens":3,', '"output_tokens":4}}']), "application/json", (u) => (seen = u)),
  );
  expect(seen).toEqual({ inputTokens: 3, outputTokens: 4 });
});
