import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { type CallOutcome, callCore, RESEND_AFTER_MS } from "../../src/ipc/call.ts";
import { errorObject } from "../../src/protocol/errors.ts";
import { parseWire } from "../../src/protocol/wire.ts";
import { ZmqSocket } from "../../src/transport/socket.ts";
import { FakeTransport, type FakeTransportOptions, peers } from "../harness/fake-transport.ts";

const TOPIC = "tool.invoke.notes.add";

let fake: FakeTransport;
function call(options: FakeTransportOptions, timeoutMs = 35_000, args: Record<string, unknown> = { text: "hi" }) {
  fake = new FakeTransport(options);
  return callCore("/run/fake/request.sock", TOPIC, args, timeoutMs, fake.io);
}

afterEach(() => {
  // Whatever happened, the dealer was closed exactly once.
  if (fake) expect(fake.closed).toBe(fake.opened);
});

describe("callCore over a fake transport (virtual time)", () => {
  test("a result: one well-formed wire message, the result returned", () => {
    const outcome = call({ peer: peers.answering({ id: 7 }) });
    expect(outcome).toEqual({ kind: "result", result: { id: 7 } });
    expect(fake.sent).toHaveLength(1);
    const parsed = parseWire(JSON.parse(fake.sent[0]?.payload ?? ""));
    expect(parsed.ok).toBe(true);
    expect(fake.requests[0]).toMatchObject({ topic: TOPIC, arguments: { text: "hi" } });
    expect(fake.now).toBe(0);
  });

  test("an error reply is the error outcome, unchanged", () => {
    const error = errorObject("VALIDATION_FAILED", "text is too long", { field: "/text" });
    expect(call({ peer: peers.failing(error) })).toEqual({ kind: "error", error });
  });

  test("a lost reply is retried after the resend interval with the SAME correlation", () => {
    const outcome = call({ peer: peers.losingFirstReply({ stored: true }) });
    expect(outcome).toEqual({ kind: "result", result: { stored: true } });
    expect(fake.sent.map((s) => s.at)).toEqual([0, RESEND_AFTER_MS]);
    const [first, second] = fake.requests;
    expect(second?.correlation).toBe(first?.correlation as string);
    expect(fake.sent[1]?.payload).toBe(fake.sent[0]?.payload as string);
  });

  test("silence until the timeout gives the transport outcome; every resend reuses the correlation", () => {
    const outcome = call({ peer: peers.silent() }, 12_000);
    expect(outcome).toEqual({ kind: "transport", message: "no reply within 12 s" });
    expect(fake.now).toBe(12_000);
    expect(fake.sent.map((s) => s.at)).toEqual([0, 5_000, 10_000]);
    expect(new Set(fake.requests.map((r) => r.correlation)).size).toBe(1);
  });

  test("a heartbeat extends the deadline past the caller's timeout", () => {
    const outcome = call(
      { peer: peers.heartbeating({ at: [500, 4_000, 7_500], waitMs: 10_000, resultAfterMs: 9_000, result: "late" }) },
      1_000,
    );
    expect(outcome).toEqual({ kind: "result", result: "late" });
    expect(fake.now).toBe(9_000);
  });

  test("without the heartbeat the same late answer is a timeout", () => {
    fake = new FakeTransport({
      peer: (req, n, p) => {
        if (n === 1) p.reply({ kind: "result", correlation: req.correlation, result: "late" }, 9_000);
      },
    });
    expect(callCore("/run/fake/request.sock", TOPIC, {}, 1_000, fake.io)).toEqual({
      kind: "transport",
      message: "no reply within 1 s",
    });
    expect(fake.now).toBe(1_000);
  });

  test("a heartbeat extends by its wait_ms plus a margin, not forever", () => {
    const outcome = call({ peer: peers.heartbeating({ at: [100], waitMs: 1_000, resultAfterMs: 60_000 }) }, 1_000);
    expect(outcome.kind).toBe("transport");
    // Deadline: heartbeat at 100 + wait 1000 + 5000 margin.
    expect(fake.now).toBe(6_100);
  });

  test("a reply carrying a foreign correlation is ignored", () => {
    expect(call({ peer: peers.foreignFirst({ mine: true }) })).toEqual({ kind: "result", result: { mine: true } });
    expect(call({ peer: peers.foreignFirst({ mine: true }, true) }, 2_000)).toEqual({
      kind: "transport",
      message: "no reply within 2 s",
    });
  });

  test("frames that are not reply frames are ignored", () => {
    expect(call({ peer: peers.garbageFirst("fine") })).toEqual({ kind: "result", result: "fine" });
  });

  test("an oversized reply is dropped like libzmq drops it; the resend gets the answer", () => {
    const outcome = call({ peer: peers.oversizedFirst(10_000, "small"), maxMessageBytes: 4_096 });
    expect(outcome).toEqual({ kind: "result", result: "small" });
    expect(fake.dropped).toHaveLength(1);
    expect(fake.sent).toHaveLength(2);
  });

  test("a refused connection throws the transport error (ipc maps it to exit 3)", () => {
    expect(() => call({ refuseConnect: true })).toThrow("[TRANSPORT] Error:");
    expect(fake.opened).toBe(0);
  });

  test("sends that never leave (no peer) end in the transport outcome at the timeout", () => {
    const outcome: CallOutcome = call({ refuseSend: true, peer: peers.answering() }, 7_000);
    expect(outcome).toEqual({ kind: "transport", message: "no reply within 7 s" });
    expect(fake.sent.every((s) => !s.delivered)).toBe(true);
    expect(fake.sent).toHaveLength(2);
  });
});

describe("callCore with the real socket and clock", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  test("a bound socket that never answers times out after about the timeout", () => {
    const dir = mkdtempSync("/tmp/cpk-");
    dirs.push(dir);
    const path = join(dir, "request.sock");
    const router = new ZmqSocket("ROUTER");
    router.bind(`ipc://${path}`);
    try {
      const started = performance.now();
      const outcome = callCore(path, TOPIC, {}, 600);
      const took = performance.now() - started;
      expect(outcome).toEqual({ kind: "transport", message: "no reply within 0.6 s" });
      expect(took).toBeGreaterThanOrEqual(590);
      // Stopped at its own timeout rather than waiting on (the margin is for a loaded machine).
      expect(took).toBeLessThan(10_000);
      // The request did arrive: [peer, delimiter, body].
      const msg = router.tryRecv();
      expect(parseWire(JSON.parse(new TextDecoder().decode(msg?.frames[2]))).ok).toBe(true);
    } finally {
      router.close();
    }
  });
});
