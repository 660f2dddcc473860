import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type RunningCore, startCore } from "../harness/core.ts";
import { rawRequest, wire } from "../harness/raw.ts";
import { auditAfter, auditMark, expectRejected, expectServing, type Json, ROOMY_LIMITS } from "./support.ts";

/** Hostile caller: wire fields that are missing, extra or of the wrong type; prototype keys; oversized strings. */

const UUID = () => crypto.randomUUID();
const ECHO = "tool.invoke.hello.echo";

describe("hostile wire fields and arguments (one core)", () => {
  let core: RunningCore;
  let session: { id: string; socket: string; group: string };

  beforeAll(async () => {
    core = await startCore({ config: ROOMY_LIMITS });
    session = await core.openSession("payload");
  });
  afterAll(async () => {
    await core.stop();
  });

  describe("wire fields: exactly topic, correlation and arguments", () => {
    const cases: [string, Json, string][] = [
      ["topic is a number", { topic: 7, correlation: UUID(), arguments: {} }, "/topic"],
      ["topic is null", { topic: null, correlation: UUID(), arguments: {} }, "/topic"],
      ["topic is missing", { correlation: UUID(), arguments: {} }, "/topic"],
      ["topic is empty", { topic: "", correlation: UUID(), arguments: {} }, "/topic"],
      ["topic is an array", { topic: [ECHO], correlation: UUID(), arguments: { message: "x" } }, "/topic"],
      ["correlation is not a UUID", { topic: ECHO, correlation: "1234", arguments: { message: "x" } }, "/correlation"],
      ["correlation is a number", { topic: ECHO, correlation: 42, arguments: { message: "x" } }, "/correlation"],
      ["correlation is missing", { topic: ECHO, arguments: { message: "x" } }, "/correlation"],
      [
        "correlation carries a UUID with a suffix",
        { topic: ECHO, correlation: `${UUID()}\n`, arguments: { message: "x" } },
        "/correlation",
      ],
      ["arguments is an array", { topic: ECHO, correlation: UUID(), arguments: ["x"] }, "/arguments"],
      ["arguments is null", { topic: ECHO, correlation: UUID(), arguments: null }, "/arguments"],
      ["arguments is a string", { topic: ECHO, correlation: UUID(), arguments: '{"message":"x"}' }, "/arguments"],
      ["arguments is missing", { topic: ECHO, correlation: UUID() }, "/arguments"],
      [
        "an extra group field",
        { topic: ECHO, correlation: UUID(), arguments: { message: "x" }, group: "admin" },
        "/group",
      ],
      [
        "an extra source field",
        { topic: ECHO, correlation: UUID(), arguments: { message: "x" }, source: "cli" },
        "/source",
      ],
      [
        "an extra session field",
        { topic: ECHO, correlation: UUID(), arguments: { message: "x" }, session: "0".repeat(32) },
        "/session",
      ],
      ["an extra envelope id", { topic: ECHO, correlation: UUID(), arguments: { message: "x" }, id: UUID() }, "/id"],
      [
        "an extra type field",
        { topic: ECHO, correlation: UUID(), arguments: { message: "x" }, type: "response" },
        "/type",
      ],
      [
        "an extra key with a slash",
        { topic: ECHO, correlation: UUID(), arguments: { message: "x" }, "a/b": 1 },
        "/a~1b",
      ],
    ];
    for (const [name, message, field] of cases) {
      test(`${name} → VALIDATION_FAILED (field ${field}), audited at stage 3 in this session's group`, async () => {
        const { error, record } = await expectRejected(core, session, JSON.stringify(message), "VALIDATION_FAILED", 3);
        expect(error.field).toBe(field);
        expect((record.detail as Json).field).toBe(field);
        // Never merged: whatever the frame claimed, the record carries the session's own identity.
        expect(record.group).toBe("payload");
        expect(record.kind).toBe("rejected");
        expectServing(session.socket);
      });
    }

    test("a claimed group never gets an audit file of its own", () => {
      expect(core.audit("admin")).toEqual([]);
    });
  });

  describe("prototype keys are rejected by the closed schema and pollute nothing", () => {
    const cases: [string, string, string][] = [
      ["__proto__ in arguments", `{"message":"x","__proto__":{"polluted":true}}`, "/__proto__"],
      [
        "constructor.prototype in arguments",
        `{"message":"x","constructor":{"prototype":{"polluted":true}}}`,
        "/constructor",
      ],
      ["__proto__ as the message value", `{"message":{"__proto__":{"polluted":true}}}`, "/message"],
      ["prototype in arguments", `{"message":"x","prototype":{"polluted":true}}`, "/prototype"],
    ];
    for (const [name, args, field] of cases) {
      test(`${name} → VALIDATION_FAILED (field ${field})`, async () => {
        // Hand-written JSON: an object literal with __proto__ would set the prototype instead of a key.
        const body = `{"topic":"${ECHO}","correlation":"${UUID()}","arguments":${args}}`;
        const { error } = await expectRejected(core, session, body, "VALIDATION_FAILED", 3);
        expect(error.field).toBe(field);
        expectServing(session.socket);
      });
    }

    test("__proto__ at the top level of the wire message is an unexpected field", async () => {
      const body = `{"__proto__":{"group":"admin"},"topic":"${ECHO}","correlation":"${UUID()}","arguments":{"message":"x"}}`;
      const { error, record } = await expectRejected(core, session, body, "VALIDATION_FAILED", 3);
      expect(error.field).toBe("/__proto__");
      expect(record.group).toBe("payload");
    });

    test("later calls are unaffected: results carry no inherited keys", () => {
      const correlation = UUID();
      const greet = rawRequest(session.socket, wire("tool.invoke.hello.greet", { name: "Ada" }, correlation));
      expect(greet).toEqual({ kind: "result", correlation, result: { greeting: "Hello, Ada!" } });
      const time = rawRequest(session.socket, wire("tool.invoke.hello.time", {}));
      expect(Object.keys((time as Json).result as Json)).toEqual(["now"]);
      expectServing(session.socket);
    });

    test("tool names that are Object.prototype members are unknown tools", async () => {
      for (const name of ["constructor", "__proto__", "hasownproperty", "tostring", "valueof"]) {
        await expectRejected(core, session, wire(`tool.invoke.${name}`, {}), "UNKNOWN_TOOL", 2);
      }
      expectServing(session.socket);
    });
  });

  describe("argument strings (max_argument_string_bytes = 100 KiB)", () => {
    test("a 100 KiB + 1 byte string → VALIDATION_FAILED with the field pointer", async () => {
      const { error, record } = await expectRejected(
        core,
        session,
        wire(ECHO, { message: "a".repeat(100 * 1024 + 1) }),
        "VALIDATION_FAILED",
        3,
      );
      expect(error.field).toBe("/message");
      expect(error.message).toContain("102400 bytes");
      expect((record.detail as Json).field).toBe("/message");
      expectServing(session.socket);
    });

    test("the limit counts bytes: 51 201 two-byte characters are refused", async () => {
      const { error } = await expectRejected(
        core,
        session,
        wire(ECHO, { message: "é".repeat(51_201) }),
        "VALIDATION_FAILED",
        3,
      );
      expect(error.field).toBe("/message");
      expect(error.message).toContain("102400 bytes");
    });

    test("an oversized string under an unexpected nested key is found before the schema runs", async () => {
      const { error } = await expectRejected(
        core,
        session,
        wire(ECHO, { message: "x", extra: { list: ["ok", "b".repeat(200 * 1024)] } }),
        "VALIDATION_FAILED",
        3,
      );
      expect(error.field).toBe("/extra/list/1");
    });

    test("exactly 100 KiB is accepted and echoed whole", async () => {
      const message = "z".repeat(100 * 1024);
      const correlation = UUID();
      const mark = auditMark(core, session.group);
      const reply = rawRequest(session.socket, wire(ECHO, { message }, correlation));
      expect(reply).toEqual({ kind: "result", correlation, result: { message } });
      const records = await auditAfter(core, session.group, mark, (r) => r.correlation === correlation);
      expect(records.map((r) => r.kind)).toEqual(["intent", "routed"]);
    });

    test("a wrong-typed argument names its field", async () => {
      const { error } = await expectRejected(core, session, wire(ECHO, { message: 12 }), "VALIDATION_FAILED", 3);
      expect(error.field).toBe("/message");
      const { error: missing } = await expectRejected(core, session, wire(ECHO, {}), "VALIDATION_FAILED", 3);
      expect(missing.field).toBe("/message");
      expectServing(session.socket);
    });
  });
});
