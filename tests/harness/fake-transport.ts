import type { CallIo } from "../../src/ipc/call.ts";
import type { ReplyFrame } from "../../src/protocol/reply.ts";
import type { WireMessage } from "../../src/protocol/wire.ts";
import { replyFrame } from "./envelope-factory.ts";

/**
 * A fake of the socket and clock `callCore` uses (its `CallIo` seam), for unit tests of the ipc retry
 * logic with no libzmq and no waiting: time is virtual and advances only inside `receive`, by exactly
 * what a real blocking receive would have waited. A scripted peer answers each send.
 */

/** What the peer may do when a request arrives: schedule replies `afterMs` after this send. */
export interface PeerActions {
  reply(frame: ReplyFrame | string | Uint8Array, afterMs?: number): void;
}

/** Called once per send; `sendNumber` counts from 1 (2 is the first resend). */
export type FakePeer = (request: WireMessage, sendNumber: number, actions: PeerActions) => void;

export interface FakeTransportOptions {
  peer?: FakePeer;
  /** `openDealer` throws, as a socket that cannot be created or connected does. */
  refuseConnect?: boolean;
  /** Every send fails (no peer to take the message); nothing reaches the peer. */
  refuseSend?: boolean;
  /** Inbound messages larger than this are dropped, as ZMQ_MAXMSGSIZE makes libzmq do. */
  maxMessageBytes?: number;
}

export interface SentRequest {
  at: number;
  payload: string;
  delivered: boolean;
}

const encoder = new TextEncoder();
/** A runaway loop (a peer that heartbeats forever) fails the test instead of hanging it. */
const MAX_RECEIVES = 100_000;

export class FakeTransport {
  private clock = 0;
  private readonly inbox: { at: number; seq: number; frame: Uint8Array }[] = [];
  private seq = 0;
  private receives = 0;
  readonly sent: SentRequest[] = [];
  /** Inbound messages libzmq would have dropped for their size. */
  readonly dropped: Uint8Array[] = [];
  opened = 0;
  closed = 0;

  constructor(private readonly options: FakeTransportOptions = {}) {}

  /** Virtual milliseconds since the fake was made. */
  get now(): number {
    return this.clock;
  }

  /** The seam to pass as callCore's last argument. */
  readonly io: CallIo = {
    now: () => this.clock,
    openDealer: (endpoint) => {
      if (this.options.refuseConnect) {
        throw new Error(`[TRANSPORT] Error: zmq_connect(${endpoint}) failed: Connection refused`);
      }
      this.opened++;
      return {
        send: (payload) => this.send(payload),
        receive: (timeoutMs) => this.receive(timeoutMs),
        close: () => {
          this.closed++;
        },
      };
    },
  };

  /** The requests that were sent, parsed (every resend included). */
  get requests(): WireMessage[] {
    return this.sent.map((s) => JSON.parse(s.payload) as WireMessage);
  }

  private send(payload: string): boolean {
    if (this.options.refuseSend) {
      this.sent.push({ at: this.clock, payload, delivered: false });
      return false;
    }
    this.sent.push({ at: this.clock, payload, delivered: true });
    const sendNumber = this.sent.filter((s) => s.delivered).length;
    const sentAt = this.clock;
    this.options.peer?.(JSON.parse(payload) as WireMessage, sendNumber, {
      reply: (frame, afterMs = 0) => {
        const bytes =
          frame instanceof Uint8Array
            ? frame
            : encoder.encode(typeof frame === "string" ? frame : JSON.stringify(frame));
        this.inbox.push({ at: sentAt + afterMs, seq: this.seq++, frame: bytes });
      },
    });
    return true;
  }

  private receive(timeoutMs: number): Uint8Array[] | null {
    if (++this.receives > MAX_RECEIVES) throw new Error("FakeTransport: receive called too often (a loop never ends)");
    const until = this.clock + Math.max(0, timeoutMs);
    for (;;) {
      this.inbox.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.inbox[0];
      if (!next || next.at > until) {
        this.clock = until;
        return null;
      }
      this.inbox.shift();
      this.clock = Math.max(this.clock, next.at);
      if (next.frame.length > (this.options.maxMessageBytes ?? 4 * 1024 * 1024)) {
        this.dropped.push(next.frame);
        continue;
      }
      return [next.frame];
    }
  }
}

/** Ready-made peers for the usual situations. */
export const peers = {
  /** Answers every send at once with `result`. */
  answering(result: unknown = { ok: true }): FakePeer {
    return (req, _n, p) => p.reply(replyFrame.result(req.correlation, result));
  },
  /** Answers every send at once with a tool error. */
  failing(error?: Parameters<typeof replyFrame.error>[1]): FakePeer {
    return (req, _n, p) => p.reply(replyFrame.error(req.correlation, error));
  },
  /** Reads and never answers. */
  silent(): FakePeer {
    return () => {};
  },
  /** The first reply is lost in transit; from the second send on, answers at once. */
  losingFirstReply(result: unknown = { ok: true }): FakePeer {
    return (req, n, p) => {
      if (n >= 2) p.reply(replyFrame.result(req.correlation, result));
    };
  },
  /** Sends heartbeats (at `at` ms, each promising `waitMs` more) and answers after `resultAfterMs`. */
  heartbeating(options: { at: number[]; waitMs: number; resultAfterMs: number; result?: unknown }): FakePeer {
    return (req, n, p) => {
      if (n > 1) return;
      for (const at of options.at) p.reply(replyFrame.heartbeat(req.correlation, options.waitMs), at);
      p.reply(replyFrame.result(req.correlation, options.result ?? { ok: true }), options.resultAfterMs);
    };
  },
  /** First a reply for someone else's correlation, then (unless `only`) the right one. */
  foreignFirst(result: unknown = { ok: true }, only = false): FakePeer {
    return (req, _n, p) => {
      p.reply(replyFrame.result(crypto.randomUUID(), { stolen: true }));
      if (!only) p.reply(replyFrame.result(req.correlation, result), 10);
    };
  },
  /** Answers the first send with `bytes` of padding inside the reply, later sends normally. */
  oversizedFirst(bytes: number, result: unknown = { ok: true }): FakePeer {
    return (req, n, p) => {
      if (n === 1) p.reply(replyFrame.result(req.correlation, { padding: "x".repeat(bytes) }));
      else p.reply(replyFrame.result(req.correlation, result));
    };
  },
  /** Answers with bytes that are not a reply frame, then with the real reply. */
  garbageFirst(result: unknown = { ok: true }): FakePeer {
    return (req, _n, p) => {
      p.reply("not json {");
      p.reply(JSON.stringify({ correlation: req.correlation }));
      p.reply(replyFrame.result(req.correlation, result), 5);
    };
  },
};
