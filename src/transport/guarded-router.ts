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
  /**
   * Replies held until the current microtasks have run, sent then as one raw chunk; null while no send to
   * this peer happened in them (the first one goes out at once, with its real outcome).
   */
  held: Uint8Array[] | null;
  heldBytes: number;
}

const EMPTY = new Uint8Array(0);
const CUT_OFF_MEMORY = 1024;
/**
 * Most bytes of replies joined into one raw chunk. libzmq holds `replyHighWater` chunks for a peer that
 * does not read, so this bounds what a stalled peer costs: replyHighWater × max(this, one reply).
 */
const MAX_JOINED_BYTES = 64 * 1024;

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
  /** Peers with replies held for the end of the current microtasks. */
  private readonly holding = new Set<Peer>();
  private releaseQueued = false;

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
    this.peers.set(key, { id, intake: new ZmtpIntake(this.limits), held: null, heldBytes: 0 });
    this.sendFrames([id, serverHandshake()]);
  }

  /**
   * Closes the peer's connection (an empty frame on a STREAM socket). A peer whose reply queue is full
   * cannot be closed that way; it stays counted, its input ignored, until it hangs up.
   */
  private disconnect(key: string, id: Uint8Array, reason: string): void {
    this.onViolation(id, reason);
    if (!this.socket.closed && this.socket.trySend([id, EMPTY]) === "again") {
      this.peers.set(key, { id, intake: null, held: null, heldBytes: 0 });
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
   *
   * Replies finished together (a batch of calls whose audit records were written at once) reach their
   * peer in as few sends as possible: each send hands libzmq's I/O thread work and may wake it, which
   * cost more than the rest of the reply. The first reply to a peer goes out at once; more to the same
   * peer before the current microtasks have run are held and sent after them as one raw chunk (ZMTP
   * frames back to back, which is what the peer reads anyway).
   */
  send(identity: Uint8Array, frames: readonly (Uint8Array | string)[]): SendOutcome | "closed" {
    if (this.socket.closed) return "closed";
    const peer = this.peers.get(keyOf(identity));
    if (peer?.held && peer.intake) {
      const message = encodeMessage(frames);
      if (peer.heldBytes + message.length > MAX_JOINED_BYTES) this.release(peer);
      peer.held.push(message);
      peer.heldBytes += message.length;
      return "sent";
    }
    const outcome = this.sendNow(identity, encodeMessage(frames));
    if (outcome === "sent" && peer?.intake) {
      peer.held = [];
      peer.heldBytes = 0;
      this.holding.add(peer);
      if (!this.releaseQueued) {
        this.releaseQueued = true;
        queueMicrotask(() => this.releaseAll());
      }
    }
    return outcome;
  }

  private sendNow(identity: Uint8Array, chunk: Uint8Array): SendOutcome {
    const outcome = this.socket.trySend([identity, chunk]);
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

  override close(): void {
    if (!this.socket.closed) this.releaseAll();
    super.close();
  }

  private releaseAll(): void {
    this.releaseQueued = false;
    for (const peer of this.holding) {
      this.release(peer);
      peer.held = null;
    }
    this.holding.clear();
  }

  /** Sends what is held for a peer, as one chunk; nothing once the socket closed or the peer was cut off. */
  private release(peer: Peer): void {
    const held = peer.held;
    if (!held || held.length === 0) return;
    peer.held = [];
    const bytes = peer.heldBytes;
    peer.heldBytes = 0;
    if (this.socket.closed || !peer.intake || this.peers.get(keyOf(peer.id)) !== peer) return;
    this.sendNow(peer.id, held.length === 1 ? (held[0] as Uint8Array) : Buffer.concat(held, bytes));
  }
}

function keyOf(id: Uint8Array): string {
  let s = "";
  for (const b of id) s += String.fromCharCode(b);
  return s;
}
