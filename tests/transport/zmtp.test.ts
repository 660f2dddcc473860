import { describe, expect, test } from "bun:test";
import { encodeMessage, IntakeViolation, serverHandshake, ZmtpIntake } from "../../src/transport/zmtp.ts";
import { frameHeader, greeting, ready } from "../harness/zmtp-peer.ts";

const LIMITS = { maxFrameBytes: 1024, maxMessageBytes: 1500, maxFrames: 4 };
const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};
const text = (frames: Uint8Array[]) => frames.map((f) => new TextDecoder().decode(f));
const handshake = () => concat(greeting(), ready("DEALER"));
const violation = (feed: () => unknown): string => {
  try {
    feed();
  } catch (e) {
    if (e instanceof IntakeViolation) return e.reason;
    throw e;
  }
  return "no violation";
};

describe("ZMTP intake", () => {
  test("a DEALER's handshake and messages, fed byte by byte, come out whole", () => {
    const intake = new ZmtpIntake(LIMITS);
    const bytes = concat(handshake(), encodeMessage(["", "hello"]), encodeMessage(["", "x".repeat(300)]));
    const out: Uint8Array[][] = [];
    for (const b of bytes) out.push(...intake.feed(new Uint8Array([b])));
    expect(out.map(text)).toEqual([
      ["", "hello"],
      ["", "x".repeat(300)],
    ]);
    expect(intake.buffered).toBe(0);
  });

  test("what the intake holds for an unfinished message is counted", () => {
    const more = new ZmtpIntake(LIMITS);
    more.feed(handshake());
    more.feed(concat(frameHeader(10, true), new Uint8Array(10), frameHeader(100, false), new Uint8Array(40)));
    expect(more.buffered).toBe(50);
  });

  test("a frame over the frame cap is refused from its header", () => {
    const intake = new ZmtpIntake(LIMITS);
    intake.feed(handshake());
    expect(violation(() => intake.feed(frameHeader(1025, false)))).toBe(
      "sent a frame of 1025 bytes (the limit is 1024)",
    );
  });

  test("more frames than the cap, or more bytes than the message cap, are refused before they are read", () => {
    const frames = new ZmtpIntake(LIMITS);
    frames.feed(handshake());
    const four = concat(...Array.from({ length: 4 }, () => frameHeader(0, true)));
    expect(frames.feed(four)).toEqual([]);
    expect(violation(() => frames.feed(frameHeader(0, true)))).toBe("sent a message of more than 4 frames");
    const bytes = new ZmtpIntake(LIMITS);
    bytes.feed(handshake());
    bytes.feed(concat(frameHeader(1000, true), new Uint8Array(1000)));
    expect(violation(() => bytes.feed(frameHeader(501, false)))).toBe("sent a message of more than 1500 bytes");
  });

  test("a broken greeting, a foreign socket type or a message before READY is refused", () => {
    const bad = greeting();
    bad[0] = 0x47;
    expect(violation(() => new ZmtpIntake(LIMITS).feed(bad))).toBe("sent no ZMTP 3 greeting with the NULL mechanism");
    const plain = greeting();
    plain.set(new TextEncoder().encode("PLAIN"), 12);
    expect(violation(() => new ZmtpIntake(LIMITS).feed(plain))).toBe("sent no ZMTP 3 greeting with the NULL mechanism");
    expect(violation(() => new ZmtpIntake(LIMITS).feed(concat(greeting(), ready("SUB"))))).toBe(
      "sent a READY for a SUB socket (only a DEALER may call)",
    );
    expect(violation(() => new ZmtpIntake(LIMITS).feed(concat(greeting(), encodeMessage(["x"]))))).toBe(
      "sent a message before the READY command",
    );
    const twice = new ZmtpIntake(LIMITS);
    twice.feed(handshake());
    expect(violation(() => twice.feed(ready("DEALER")))).toBe("sent a second handshake command (READY)");
  });

  test("reserved flag bits and oversized commands are refused", () => {
    const flags = new ZmtpIntake(LIMITS);
    flags.feed(handshake());
    expect(violation(() => flags.feed(new Uint8Array([0x08, 0])))).toBe("sent a frame with reserved flag bits");
    const command = new ZmtpIntake(LIMITS);
    command.feed(handshake());
    const header = frameHeader(5000, false);
    header[0] = 0x06;
    expect(violation(() => command.feed(header))).toBe("sent a command frame larger than 4096 bytes");
  });

  test("later commands such as PING pass without a message", () => {
    const intake = new ZmtpIntake(LIMITS);
    intake.feed(handshake());
    const ping = new Uint8Array([4, 7, 4, ...new TextEncoder().encode("PING"), 0, 0]);
    expect(intake.feed(concat(ping, encodeMessage(["", "after"]))).map(text)).toEqual([["", "after"]]);
  });

  test("the server handshake is a ZMTP 3.1 NULL greeting and a READY for a ROUTER", () => {
    const hs = serverHandshake();
    expect([hs[0], hs[9], hs[10], hs[11]]).toEqual([0xff, 0x7f, 3, 1]);
    expect(new TextDecoder().decode(hs.subarray(12, 16))).toBe("NULL");
    expect(new TextDecoder().decode(hs.subarray(64))).toContain("READY");
    expect(new TextDecoder().decode(hs.subarray(64))).toContain("Socket-Type\0\0\0\x06ROUTER");
  });
});
