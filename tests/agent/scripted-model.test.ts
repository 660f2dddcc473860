import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLAUDE_CACHE_DIR } from "../../build/image/agent.ts";
import { NO_MORE_TURNS_TEXT, type ScriptedModel, startScriptedModel } from "../../src/agent/scripted-model.ts";
import { CLAUDE_CODE_VERSION } from "../../src/container/image.ts";

const models: ScriptedModel[] = [];
afterEach(async () => {
  for (const m of models.splice(0)) await m.close();
});

async function model(...args: Parameters<typeof startScriptedModel>) {
  const m = await startScriptedModel(...args);
  models.push(m);
  return m;
}

function post(url: string, body: unknown, key = "k", path = "/v1/messages?beta=true") {
  return fetch(`${url}${path}`, {
    method: "POST",
    headers: { "x-api-key": key, "content-type": "application/json", "anthropic-version": "2023-06-01" },
    body: JSON.stringify(body),
  });
}

/** Parses an SSE body into [event, data] pairs, checking every event line matches its data's type. */
function parseSse(text: string): { event: string; data: Record<string, unknown> }[] {
  return text
    .split("\n\n")
    .filter((block) => block.trim() !== "")
    .map((block) => {
      const event = /^event: (.+)$/m.exec(block)?.[1] ?? "";
      const data = JSON.parse(/^data: (.+)$/m.exec(block)?.[1] ?? "null") as Record<string, unknown>;
      expect(data.type).toBe(event);
      return { event, data };
    });
}

describe("scripted model: the Messages API shape", () => {
  test("a text turn streams message_start … message_stop with end_turn and usage", async () => {
    const m = await model({ turns: [{ text: "Hello there" }] });
    const res = await post(m.url, { model: "claude-x", stream: true, messages: [{ role: "user", content: "hi" }] });
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const events = parseSse(await res.text());
    expect(events.map((e) => e.event)).toEqual([
      "message_start",
      "content_block_start",
      "ping",
      "content_block_delta",
      "content_block_delta",
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
    const start = events[0]?.data.message as { model: string; role: string; usage: { input_tokens: number } };
    expect(start.model).toBe("claude-x");
    expect(start.role).toBe("assistant");
    expect(start.usage.input_tokens).toBeGreaterThan(0);
    const text = events
      .filter((e) => e.event === "content_block_delta")
      .map((e) => (e.data.delta as { type: string; text: string }).text)
      .join("");
    expect(text).toBe("Hello there");
    expect(events[6]?.data).toMatchObject({
      delta: { stop_reason: "end_turn" },
      usage: { output_tokens: expect.any(Number) },
    });
  });

  test("script() replaces the turns not yet answered, so one model serves several sessions", async () => {
    const m = await model({ turns: [{ text: "first" }, { text: "left over" }] });
    const text = async () =>
      ((await (await post(m.url, { messages: [] })).json()) as { content: { text: string }[] }).content[0]?.text;
    expect(await text()).toBe("first");
    m.script([{ text: "second session" }]);
    expect(await text()).toBe("second session");
    expect(await text()).toBe(NO_MORE_TURNS_TEXT);
  });

  test("a tool_use turn streams the input as input_json_delta and stops with tool_use", async () => {
    const m = await model({ turns: [{ tool_use: { name: "Bash", input: { command: "ipc hello.echo '{}'" } } }] });
    const events = parseSse(await (await post(m.url, { stream: true, messages: [] })).text());
    const block = events[1]?.data.content_block as { type: string; id: string; name: string; input: unknown };
    expect(block).toMatchObject({ type: "tool_use", name: "Bash", input: {} });
    expect(block.id).toMatch(/^toolu_/);
    const delta = events.find((e) => e.event === "content_block_delta")?.data.delta as {
      type: string;
      partial_json: string;
    };
    expect(delta.type).toBe("input_json_delta");
    expect(JSON.parse(delta.partial_json)).toEqual({ command: "ipc hello.echo '{}'" });
    expect(events.find((e) => e.event === "message_delta")?.data).toMatchObject({ delta: { stop_reason: "tool_use" } });
  });

  test("non-stream requests get one JSON message; turns are consumed in order, then a fixed final text", async () => {
    const m = await model({ turns: [{ text: "first" }] });
    const one = (await (await post(m.url, { messages: [] })).json()) as Record<string, unknown>;
    expect(one).toMatchObject({
      type: "message",
      role: "assistant",
      content: [{ type: "text", text: "first" }],
      stop_reason: "end_turn",
    });
    const two = (await (await post(m.url, { messages: [] })).json()) as { content: { text: string }[] };
    expect(two.content[0]?.text).toBe(NO_MORE_TURNS_TEXT);
    expect(m.requests.map((r) => r.path)).toEqual(["/v1/messages?beta=true", "/v1/messages?beta=true"]);
  });

  test("an error turn answers with the API's error shape and status, then the next turn is served", async () => {
    const m = await model({ turns: [{ error: { status: 400, message: "refused here" } }, { text: "after" }] });
    const refused = await post(m.url, { messages: [], stream: true });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual({
      type: "error",
      error: { type: "invalid_request_error", message: "refused here" },
    });
    const next = (await (await post(m.url, { messages: [] })).json()) as { content: { text: string }[] };
    expect(next.content[0]?.text).toBe("after");
  });

  test("respond() builds the turn from the request", async () => {
    const m = await model({
      turns: [
        {
          respond: (req) => {
            const last = (req as { messages: { content: string }[] }).messages.at(-1)?.content ?? "";
            return { text: `you said ${last}` };
          },
        },
      ],
    });
    const reply = (await (await post(m.url, { messages: [{ role: "user", content: "ping" }] })).json()) as {
      content: { text: string }[];
    };
    expect(reply.content[0]?.text).toBe("you said ping");
  });

  test("count_tokens answers input_tokens; expectKey refuses a wrong key with 401", async () => {
    const m = await model({ turns: [], expectKey: "right" });
    const counted = await post(
      m.url,
      { messages: [{ role: "user", content: "abcdefgh" }] },
      "right",
      "/v1/messages/count_tokens",
    );
    expect(((await counted.json()) as { input_tokens: number }).input_tokens).toBeGreaterThan(0);
    const refused = await post(m.url, { messages: [] }, "wrong");
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { error: { type: string } }).error.type).toBe("authentication_error");
    expect(m.requests[1]?.headers["x-api-key"]).toBe("wrong");
  });
});

const claudeBin = join(CLAUDE_CACHE_DIR, CLAUDE_CODE_VERSION, process.arch, "claude");
const claudeSkip = existsSync(claudeBin)
  ? null
  : `Claude Code is not cached at ${claudeBin} (run: bun build/image/agent.ts --fetch-only)`;
if (claudeSkip) console.warn(`[skip] scripted model with real Claude Code: ${claudeSkip}`);

describe.skipIf(claudeSkip !== null)("scripted model drives the real Claude Code", () => {
  test("a Bash tool_use then a text turn: claude runs the tool, sends the tool_result, ends in success", async () => {
    const m = await model({
      turns: [
        { tool_use: { name: "Bash", input: { command: "echo hello", description: "say hello" } } },
        { text: "done" },
      ],
      expectKey: "test",
    });
    const home = mkdtempSync(join(tmpdir(), "claude-home-"));
    try {
      const t0 = performance.now();
      const proc = Bun.spawn(
        [claudeBin, "-p", "hi", "--output-format", "stream-json", "--verbose", "--allowedTools", "Bash(echo:*)"],
        {
          env: {
            PATH: process.env.PATH ?? "/usr/bin:/bin",
            HOME: home,
            ANTHROPIC_BASE_URL: m.url,
            ANTHROPIC_API_KEY: "test",
            CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
            DISABLE_AUTOUPDATER: "1",
          },
          stdout: "pipe",
          stderr: "pipe",
        },
      );
      const out = await new Response(proc.stdout).text();
      expect(await proc.exited).toBe(0);
      const result = out
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((e) => e.type === "result");
      expect(result).toMatchObject({ subtype: "success", result: "done", is_error: false });
      console.log(`claude -p against the scripted model: ${Math.round(performance.now() - t0)} ms`);
      expect(m.requests.length).toBeGreaterThanOrEqual(2);
      const last = m.requests.at(-1)?.body as { messages: { role: string; content: unknown }[] };
      const toolResult = JSON.stringify(last.messages.at(-1));
      expect(toolResult).toContain('"type":"tool_result"');
      expect(toolResult).toContain("hello");
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  }, 60_000);
});
