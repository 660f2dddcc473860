import { describe, expect, test } from "bun:test";
import { eventsFromLine } from "../../src/agent/stream-json.ts";
import { LineSplitter } from "../../src/platform/line-splitter.ts";

describe("Claude Code stream-json → response.* events", () => {
  test("system init, assistant text and tool_use, tool results, success", () => {
    expect(
      eventsFromLine(JSON.stringify({ type: "system", subtype: "init", tools: ["Bash", "Read"], model: "m" })),
    ).toEqual([{ topic: "response.system", payload: { subtype: "init", tools: ["Bash", "Read"], model: "m" } }]);
    const assistant = {
      type: "assistant",
      message: {
        content: [
          { type: "text", text: "hi" },
          { type: "tool_use", id: "t1", name: "Bash", input: { command: "ipc hello.time" } },
        ],
      },
    };
    expect(eventsFromLine(JSON.stringify(assistant))).toEqual([
      { topic: "response.chunk", payload: { text: "hi" } },
      { topic: "response.tool_call", payload: { id: "t1", name: "Bash", input: { command: "ipc hello.time" } } },
    ]);
    const user = {
      type: "user",
      message: {
        content: [{ type: "tool_result", tool_use_id: "t1", content: [{ type: "text", text: "{}" }], is_error: false }],
      },
    };
    expect(eventsFromLine(JSON.stringify(user))).toEqual([
      { topic: "response.tool_result", payload: { id: "t1", content: "{}", is_error: false } },
    ]);
    expect(
      eventsFromLine(
        JSON.stringify({
          type: "result",
          subtype: "success",
          is_error: false,
          result: "answer",
          duration_ms: 5,
          num_turns: 2,
        }),
      ),
    ).toEqual([
      { topic: "response.end", payload: { result: "answer", subtype: "success", duration_ms: 5, num_turns: 2 } },
    ]);
  });

  test("error results become response.error; junk is ignored", () => {
    expect(
      eventsFromLine(JSON.stringify({ type: "result", subtype: "error_max_turns", is_error: true }))[0]?.topic,
    ).toBe("response.error");
    expect(
      eventsFromLine(JSON.stringify({ type: "result", subtype: "success", is_error: true, result: "API Error" })),
    ).toEqual([{ topic: "response.error", payload: { message: "API Error", subtype: "success" } }]);
    expect(eventsFromLine("not json")).toEqual([]);
    expect(eventsFromLine("42")).toEqual([]);
    expect(eventsFromLine(JSON.stringify({ type: "mystery" }))).toEqual([]);
  });

  test("very long text is capped", () => {
    const e = eventsFromLine(
      JSON.stringify({ type: "assistant", message: { content: [{ type: "text", text: "x".repeat(100_000) }] } }),
    );
    expect(JSON.stringify(e[0]?.payload).length).toBeLessThan(64 * 1024 + 32);
    expect(JSON.stringify(e[0]?.payload).length).toBeGreaterThan(64 * 1024);
  });

  test("the line splitter handles chunks across lines and a trailing line", () => {
    const lines: string[] = [];
    const s = new LineSplitter((l) => lines.push(l));
    s.push('{"a":');
    s.push('1}\n{"b":2}\n\n{"c"');
    s.push(":3}");
    s.end();
    expect(lines).toEqual(['{"a":1}', '{"b":2}', '{"c":3}']);
    const capped: string[] = [];
    const small = new LineSplitter((l) => capped.push(l), 10);
    small.push("x".repeat(50));
    small.push("ok\n");
    expect(capped).toEqual(["ok"]);
  });
});
