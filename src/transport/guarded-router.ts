import type { Reactor } from "./reactor.ts";
import type { SendOutcome } from "./socket.ts";
import { LoopSocket } from "./sockets.ts";
import { encodeMessage, type IntakeLimits, IntakeViolation, serverHandshake, ZmtpIntake } from "./zmtp.ts";

export interface GuardLimits extends IntakeLimits {
  /** Most connections at once; one more is disconnected on arrival. */
  maxPeers: number;
  /** Most bytes held for unfinished messages across all peers; the peer that passes it is disconnected. */
  maxBufferedBytes: number;
  /** libzmq's queue of raw chunks (≤ 8 KiB each) per peer before it stops reading that peer's socket. */
  chunkHighWater: number;
  /** Replies libzmq holds for a peer that does not read them; one more and the peer counts as stalled. */
  replyHighWater: number;
  /** The buffer raw chunks are read into (default 64 KiB, eight times libzmq's largest chunk). */
  chunkBufferBytes?: number;
}

interface Peer {
  readonly id: Uint8Array;
  /** null once the peer is cut off but its connection cannot be closed yet (its reply queue is full). */
  intake: ZmtpIntake | null;
}

const EMPTY = new Uint8Array(0);
const CUT_OFF_MEMORY = 1024;

/**
 * A ROUTER for DEALER peers whose inbound messages are bounded while they arrive. It is a libzmq
 * ZMQ_STREAM socket speaking ZMTP itself (zmtp.ts): libzmq holds at most `chunkHighWater` raw chunks per
 * peer, the intake at most one unfinished message, and a peer that passes a limit is disconnected at once
 * and reported to `onViolation`. Same interface as RouterSocket.
 */
export class GuardedRouter extends LoopSocket {
  private readonly peers = new Map<string, Peer>();
  /** Peers we disconnected: libzmq may still report their disconnection, which must not read as a connect. */
  private readonly cutOff = new Set<string>();

  constructor(
    endpoint: string,
    private readonly onMessage: (identity: Uint8Array, frames: Uint8Array[], overflow: boolean) => void,
    private readonly onViolation: (identity: Uint8Array, reason: string) => void,
    private readonly limits: GuardLimits,
    loop?: Reactor,
  ) {
    super(
      "STREAM",
      {
        receiveHighWater: limits.chunkHighWater,
        sendHighWater: limits.replyHighWater,
        maxFrames: 2,
        ...(limits.chunkBufferBytes !== undefined ? { chunkBufferBytes: limits.chunkBufferBytes } : {}),
      },
      loop,
    );
    this.attach(() => this.socket.bind(endpoint));
  }

  get peerCount(): number {
    return this.peers.size;
  }

  protected receive(frames: Uint8Array[], overflow: boolean): void {
    const [id, data] = frames;
    if (!id || !data) return;
    const key = keyOf(id);
    if (overflow) {
      // A raw chunk is never longer than libzmq's input batch; one that was cut cannot be parsed further.
      if (this.peers.get(key)?.intake) this.disconnect(key, id, "sent a chunk the transport could not hold whole");
      return;
    }
    if (data.length === 0) {
      this.notified(id, key);
      return;
    }
    const intake = this.peers.get(key)?.intake;
    if (!intake) return;
    let messages: Uint8Array[][];
    try {
      messages = intake.feed(data);
      if (intake.buffered > 0 && this.bufferedBytes() > this.limits.maxBufferedBytes) {
        throw new IntakeViolation(`took the session past ${this.limits.maxBufferedBytes} bytes of unfinished messages`);
      }
    } catch (e) {
      if (!(e instanceof IntakeViolation)) throw e;
      this.disconnect(key, id, e.reason);
      return;
    }
    for (const m of messages) this.onMessage(id, m, false);
  }

  /** A connection or a disconnection (ZMQ_STREAM reports both as an empty data frame). */
  private notified(id: Uint8Array, key: string): void {
    if (this.peers.delete(key) || this.cutOff.delete(key)) return;
    if (this.peers.size >= this.limits.maxPeers) {
      this.disconnect(key, id, `connected past the limit of ${this.limits.maxPeers} connections`);
      return;
    }
    this.peers.set(key, { id, intake: new ZmtpIntake(this.limits) });
    this.sendFrames([id, serverHandshake()]);
  }

  /**
   * Closes the peer's connection (an empty frame on a STREAM socket). A peer whose reply queue is full
   * cannot be closed that way; it stays counted, its input ignored, until it hangs up.
   */
  private disconnect(key: string, id: Uint8Array, reason: string): void {
    this.onViolation(id, reason);
    if (!this.socket.closed && this.socket.trySend([id, EMPTY]) === "again") {
      this.peers.set(key, { id, intake: null });
    } else {
      this.peers.delete(key);
      if (this.cutOff.size >= CUT_OFF_MEMORY) this.cutOff.clear();
      this.cutOff.add(key);
    }
    this.loop.touch(this.socket);
  }

  private bufferedBytes(): number {
    let total = 0;
    for (const p of this.peers.values()) total += p.intake?.buffered ?? 0;
    return total;
  }

  /**
   * Sends one message, never queued behind others: a full reply queue means the peer stopped reading, and
   * it is cut off instead of the core holding its replies (or holding back everybody else's).
   */
  send(identity: Uint8Array, frames: readonly (Uint8Array | string)[]): SendOutcome | "closed" {
    if (this.socket.closed) return "closed";
    const outcome = this.socket.trySend([identity, encodeMessage(frames)]);
    this.loop.touch(this.socket);
    if (outcome === "again") {
      const key = keyOf(identity);
      if (this.peers.get(key)?.intake) {
        this.disconnect(key, identity, `stopped reading its replies (${this.limits.replyHighWater} unread)`);
      }
    } else if (outcome === "unroutable") {
      this.dropped++;
    }
    return outcome;
  }
}

function keyOf(id: Uint8Array): string {
  let s = "";
  for (const b of id) s += String.fromCharCode(b);
  return s;
}
