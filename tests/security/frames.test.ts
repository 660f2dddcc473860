import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type RunningCore, startCore } from "../harness/core.ts";
import { rawRequest, wire } from "../harness/raw.ts";
import {
  auditAfter,
  auditMark,
  droppedFrames,
  expectRejected,
  expectServing,
  FrameDealer,
  ROOMY_LIMITS,
} from "./support.ts";

/** Hostile caller: frames that are not JSON, not an object, too big or too deep, or not even a request. */

const MiB = 1024 * 1024;
const encoder = new TextEncoder();

/** A hello.echo request whose frame is exactly `bytes` long (ASCII padding in the message). */
function echoFrameOfSize(bytes: number): string {
  const empty = wire("tool.invoke.hello.echo", { message: "" });
  const frame = wire("tool.invoke.hello.echo", { message: "a".repeat(bytes - empty.length) });
  expect(frame.length).toBe(bytes);
  return frame;
}

/** A well-formed hello.echo request whose arguments nest `levels` more containers below `arguments`. */
function nestedRequest(levels: number, kind: "object" | "array" | "mixed"): string {
  let inner = "1";
  for (let i = 0; i < levels; i++) {
    const asArray = kind === "array" || (kind === "mixed" && i % 2 === 1);
    inner = asArray ? `[${inner}]` : `{"x":${inner}}`;
  }
  return `{"topic":"tool.invoke.hello.echo","correlation":"${crypto.randomUUID()}","arguments":{"message":"m","x":${inner}}}`;
}

describe("hostile frames (one core)", () => {
  let core: RunningCore;
  let session: { id: string; socket: string; group: string };

  beforeAll(async () => {
    core = await startCore({ config: ROOMY_LIMITS });
    session = await core.openSession("hostile");
  });
  afterAll(async () => {
    await core.stop();
  });

  describe("bytes that are not a JSON object", () => {
    const cases: [string, string | Uint8Array][] = [
      ["plain text", "hello, core"],
      ["truncated JSON", '{"topic":"tool.invoke.hello.echo","correlation":'],
      ["JSON with a trailing comma", '{"topic":"tool.invoke.hello.time",}'],
      ["an empty frame", ""],
      ["only whitespace", " \n\t "],
      ["a NUL byte", new Uint8Array([0])],
      // The JSON is well formed except for a byte that is never valid UTF-8.
      [
        "invalid UTF-8 inside a string",
        new Uint8Array([
          ...encoder.encode(
            `{"topic":"tool.invoke.hello.echo","correlation":"${crypto.randomUUID()}","arguments":{"message":"`,
          ),
          0xff,
          0xfe,
          ...encoder.encode('"}}'),
        ]),
      ],
      ["a lone UTF-16 surrogate encoded as UTF-8", new Uint8Array([0x22, 0xed, 0xa0, 0x80, 0x22])],
      ["an overlong UTF-8 encoding of a quote", new Uint8Array([0x7b, 0xc0, 0xa2, 0x7d])],
    ];
    for (const [name, body] of cases) {
      test(`${name} → VALIDATION_FAILED at stage 3, audited, core keeps serving`, async () => {
        const { error, record } = await expectRejected(core, session, body, "VALIDATION_FAILED", 3);
        expect(error.retriable).toBe(false);
        expect(record.correlation).toBeNull();
        expectServing(session.socket);
      });
    }

    const notObjects: [string, string][] = [
      ["an array", `[${wire("tool.invoke.hello.time", {})}]`],
      ["a string", JSON.stringify(wire("tool.invoke.hello.time", {}))],
      ["a number", "42"],
      ["null", "null"],
      ["true", "true"],
    ];
    for (const [name, body] of notObjects) {
      test(`JSON that is ${name} → VALIDATION_FAILED at stage 3 (message must be an object)`, async () => {
        const { error, record } = await expectRejected(core, session, body, "VALIDATION_FAILED", 3);
        expect(error.message).toContain("object");
        expect((record.detail as Record<string, unknown>).reason).toBe(error.message);
        expectServing(session.socket);
      });
    }
  });

  describe("size limits before parsing (max_frame_bytes = 1 MiB)", () => {
    test("a frame of 1 MiB + 1 byte is refused by size, before parsing", async () => {
      const { error } = await expectRejected(core, session, echoFrameOfSize(MiB + 1), "VALIDATION_FAILED", 3);
      expect(error.message).toContain(String(MiB));
      expectServing(session.socket);
    });

    test("a frame of exactly 1 MiB passes the size check and is then refused for its long argument", async () => {
      const { error, record } = await expectRejected(core, session, echoFrameOfSize(MiB), "VALIDATION_FAILED", 3);
      expect(error.field).toBe("/message");
      expect((record.detail as Record<string, unknown>).field).toBe("/message");
      expectServing(session.socket);
    });

    test("a 1 MiB + 1 frame that is not even JSON is refused by size too", async () => {
      const { error } = await expectRejected(core, session, "{".repeat(MiB + 1), "VALIDATION_FAILED", 3);
      expect(error.message).toContain(String(MiB));
      expectServing(session.socket);
    });

    test("a frame past the transport cap (6 MiB) cuts the peer off at the transport: no reply, no crash", async () => {
      const reply = rawRequest(session.socket, "x".repeat(6 * MiB), 800);
      expect(reply).toBeNull();
      expectServing(session.socket);
    });
  });

  describe("nesting limits before parsing (max_json_depth = 64)", () => {
    test("100 nested objects → VALIDATION_FAILED at stage 3 naming the depth", async () => {
      const { error } = await expectRejected(core, session, nestedRequest(100, "object"), "VALIDATION_FAILED", 3);
      expect(error.message).toContain("nested deeper than 64");
      expectServing(session.socket);
    });

    test("100 nested arrays → VALIDATION_FAILED at stage 3", async () => {
      const { error } = await expectRejected(core, session, nestedRequest(100, "array"), "VALIDATION_FAILED", 3);
      expect(error.message).toContain("nested deeper than 64");
      expectServing(session.socket);
    });

    test("10 000 alternating objects and arrays (a parser stack bomb) → VALIDATION_FAILED", async () => {
      const { error } = await expectRejected(core, session, nestedRequest(10_000, "mixed"), "VALIDATION_FAILED", 3);
      expect(error.message).toContain("nested deeper than 64");
      expectServing(session.socket);
    });

    test("100 unclosed brackets (not even JSON) are refused by depth", async () => {
      const { error } = await expectRejected(core, session, "[".repeat(100), "VALIDATION_FAILED", 3);
      expect(error.message).toContain("nested deeper than 64");
      expectServing(session.socket);
    });

    test("exactly 64 levels pass the depth check (the schema refuses the extra key instead)", async () => {
      // The wire object and `arguments` are 2 levels; 62 more make 64.
      const { error } = await expectRejected(core, session, nestedRequest(62, "object"), "VALIDATION_FAILED", 3);
      expect(error.message).not.toContain("nested");
      expect(error.field).toBe("/x");
      const { error: deeper } = await expectRejected(
        core,
        session,
        nestedRequest(63, "object"),
        "VALIDATION_FAILED",
        3,
      );
      expect(deeper.message).toContain("nested deeper than 64");
      expectServing(session.socket);
    });

    test("brackets inside strings do not count, also after escaped quotes and backslashes", async () => {
      const message = `${"[".repeat(200)}\\"${"{".repeat(200)}"\\\\${"[{".repeat(100)}`;
      const correlation = crypto.randomUUID();
      const mark = auditMark(core, session.group);
      const reply = rawRequest(session.socket, wire("tool.invoke.hello.echo", { message }, correlation));
      expect(reply).toEqual({ kind: "result", correlation, result: { message } });
      const routed = await auditAfter(core, session.group, mark, (r) => r.correlation === correlation);
      expect(routed.map((r) => [r.kind, r.stage])).toEqual([
        ["intent", 6],
        ["routed", 6],
      ]);
    });
  });

  describe("multipart frames that are not [empty, json] are dropped and counted", () => {
    const json = () => wire("tool.invoke.hello.echo", { message: "smuggled" });
    const cases: [string, () => (string | Uint8Array)[]][] = [
      ["no empty delimiter", () => [json()]],
      ["a non-empty delimiter", () => ["x", json()]],
      ["a delimiter and nothing after it", () => [""]],
      ["one frame too many", () => ["", json(), "extra"]],
      ["twenty frames (past the per-message frame cap)", () => ["", ...Array.from({ length: 19 }, json)]],
    ];
    for (const [name, frames] of cases) {
      test(`${name}: no reply, dropped_frames grows, an audit record of kind "dropped"`, async () => {
        const before = await droppedFrames(core);
        const mark = auditMark(core, session.group);
        const dealer = new FrameDealer(session.socket);
        try {
          dealer.sendFrames(frames());
          expect(await dealer.receive(250)).toBeNull();
        } finally {
          dealer.close();
        }
        expect(await droppedFrames(core)).toBe(before + 1);
        const records = await auditAfter(core, session.group, mark, (r) => r.outcome !== "info");
        expect(records.length).toBe(1);
        expect(records[0]).toMatchObject({
          kind: "dropped",
          outcome: "rejected",
          group: session.group,
          session: session.id,
          stage: 3,
          code: "VALIDATION_FAILED",
        });
        // The smuggled request never ran.
        expect(core.audit(session.group).some((r) => r.kind === "routed" && (r.seq as number) > mark)).toBe(false);
        expectServing(session.socket);
      });
    }
  });
});
