import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type RunningCore, startCore } from "../harness/core.ts";
import { wire } from "../harness/raw.ts";
import { expectRejected, expectServing, type Json, ROOMY_LIMITS } from "./support.ts";

/** Hostile caller: topics with Unicode, control characters, great length, or that are not tool invocations. */

describe("hostile topics (one core)", () => {
  let core: RunningCore;
  let session: { id: string; socket: string; group: string };

  beforeAll(async () => {
    core = await startCore({ config: ROOMY_LIMITS });
    session = await core.openSession("topics");
  });
  afterAll(async () => {
    await core.stop();
  });

  const unknown: [string, string][] = [
    ["a Greek omicron look-alike", "tool.invoke.hello.ech\u03bf"],
    ["a fullwidth letter", "tool.invoke.hello.\uff45cho"],
    ["a trailing NUL", "tool.invoke.hello.echo\u0000"],
    ["an embedded newline", "tool.invoke.hello.echo\nforged line"],
    ["a carriage return", "tool.invoke.hello.echo\r"],
    ["an ANSI escape sequence", "\u001b[31mtool.invoke.hello.echo\u001b[0m"],
    ["a right-to-left override", "tool.invoke.\u202eohce.olleh"],
    ["a zero-width joiner", "tool.invoke.hello.\u200decho"],
    ["a byte-order mark", "\ufefftool.invoke.hello.echo"],
    ["an emoji", "tool.invoke.hello.🦀"],
    ["a lone surrogate", "tool.invoke.hello.\ud800"],
    ["a trailing space", "tool.invoke.hello.echo "],
    ["upper case", "tool.invoke.HELLO.ECHO"],
    ["an event topic", "message.inbound"],
    ["another event topic", "agent.started"],
    ["the bare prefix", "tool.invoke."],
    ["a bare tool name without the prefix", "hello.echo"],
    ["a path traversal", "tool.invoke.../x"],
    ["a dotted traversal", "tool.invoke.hello.echo/../../time"],
    ["an extra segment", "tool.invoke.hello.echo.extra"],
    ["an empty segment", "tool.invoke.hello..echo"],
    ["a wildcard", "tool.invoke.*"],
    ["a prefix of a real tool", "tool.invoke.hello"],
    ["256 characters", `tool.invoke.${"a".repeat(256 - "tool.invoke.".length)}`],
  ];
  for (const [name, topic] of unknown) {
    test(`${name} → UNKNOWN_TOOL at stage 2, audited, core keeps serving`, async () => {
      const { error, record, reply } = await expectRejected(
        core,
        session,
        wire(topic, { message: "x" }),
        "UNKNOWN_TOOL",
        2,
      );
      expect(error.retriable).toBe(false);
      // Stored as JSON: a newline or escape in the topic cannot forge a second audit line.
      expect(record.topic).toBe(topic);
      expect(typeof reply.correlation).toBe("string");
      expectServing(session.socket);
    });
  }

  const tooLong: [string, string][] = [
    ["257 characters", `tool.invoke.${"a".repeat(257 - "tool.invoke.".length)}`],
    ["64 KiB of characters", `tool.invoke.${"b".repeat(64 * 1024)}`],
    ["1 000 control characters", "\u0001".repeat(1000)],
  ];
  for (const [name, topic] of tooLong) {
    test(`a topic of ${name} → VALIDATION_FAILED (field /topic) at stage 3`, async () => {
      const { error, record } = await expectRejected(core, session, wire(topic, {}), "VALIDATION_FAILED", 3);
      expect(error.field).toBe("/topic");
      expect((record.detail as Json).field).toBe("/topic");
      expectServing(session.socket);
    });
  }

  test("the audit log stays one record per line after all of this", () => {
    const records = core.audit(session.group);
    expect(records.length).toBeGreaterThan(unknown.length);
    expect(records.map((r) => r.seq)).toEqual(records.map((_, i) => i + 1));
  });
});
