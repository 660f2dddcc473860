import { dirname } from "node:path";
import type { Socket, UnixSocketListener } from "bun";
import { UserError } from "../errors/user-error.ts";
import { ipcPath, prepareSocketDir, removeSocketFile, restrictSocketFile, type SendOutcome } from "./socket.ts";
import { encodeMessage, type IntakeLimits, IntakeViolation, serverHandshake, ZmtpIntake } from "./zmtp.ts";

export interface GuardLimits extends IntakeLimits {
  /** Most connections at once; one more is disconnected on arrival. */
  maxPeers: number;
  /** Most bytes held for unfinished messages across all peers; the peer that passes it is disconnected. */
  maxBufferedBytes: number;
  /** Writes the kernel has not taken yet for a peer that does not read them; one more and the peer counts as stalled. */
  replyHighWater: number;
  /**
   * Most bytes of replies the kernel has not taken yet, across all peers; the peer whose reply would queue
   * past it is cut off. A reply to a peer with nothing waiting is always queued (one reply may be larger).
   */
  maxUnsentBytes: number;
}

type Conn = Socket<{ peer: Peer | null }>;

interface Peer {
  readonly id: Uint8Array;
  readonly key: string;
  readonly conn: Conn;
  readonly intake: ZmtpIntake;
  /**
   * Replies held until the current microtasks have run, sent then as one write; null while no send to
   * this peer happened in them (the first one goes out at once).
   */
  held: Uint8Array[] | null;
  heldBytes: number;
  /** What the kernel did not take yet (the peer is not reading), in order; written again on drain. */
  unsent: Uint8Array[];
  unsentBytes: number;
}

/**
 * Most bytes of replies joined into one write. A stalled peer costs at most replyHighWater × max(this,
 * one reply), and all of them together maxUnsentBytes plus one reply each.
 */
const MAX_JOINED_BYTES = 64 * 1024;

/**
 * A ROUTER for DEALER peers whose inbound messages are bounded while they arrive: the session socket is a
 * plain Unix stream socket of the event loop, and the core speaks ZMTP on it itself (zmtp.ts). The intake
 * holds at most one unfinished message per peer, a peer that passes a limit is disconnected at once and
 * reported to `onViolation`, and one that leaves `replyHighWater` writes untaken is cut off instead of
 * the core holding its replies. The peers are libzmq DEALERs (`ipc`), which cannot tell the difference.
 *
 * Not libzmq's ZMQ_STREAM: through it every message crossed libzmq's I/O thread both ways (two thread
 * wake-ups and a mailbox per message) and the main thread had to poll for it; here a read wakes the
 * event loop directly and a reply is one write(2).
 */
export class GuardedRouter {
  private readonly peers = new Map<string, Peer>();
  /** Peers with replies held for the end of the current microtasks. */
  private readonly holding = new Set<Peer>();
  private releaseQueued = false;
  private readonly listener: UnixSocketListener<{ peer: Peer | null }>;
  private readonly path: string;
  private closed = false;
  private serial = 0;
  /** Bytes in every peer's `unsent`. */
  private unsentBytes = 0;
  /** Replies to a peer that is gone (answered after it hung up). */
  dropped = 0;

  constructor(
    endpoint: string,
    private readonly onMessage: (identity: Uint8Array, frames: Uint8Array[], overflow: boolean) => void,
    private readonly onViolation: (identity: Uint8Array, reason: string) => void,
    private readonly limits: GuardLimits,
  ) {
    const path = ipcPath(endpoint);
    if (!path) throw new UserError("TRANSPORT", `${endpoint} is not an ipc:// endpoint`, "use ipc://<path>");
    this.path = path;
    prepareSocketDir(dirname(path));
    // A socket file left at the path (by a crashed core) is replaced; anything else there is refused by listen.
    removeSocketFile(path);
    this.listener = Bun.listen<{ peer: Peer | null }>({
      unix: path,
      socket: {
        open: (conn) => this.opened(conn),
        data: (conn, chunk) => this.received(conn, chunk),
        drain: (conn) => this.drained(conn),
        close: (conn) => this.gone(conn),
        // Also where Bun reports an exception thrown by a handler: the connection is left open then.
        error: (conn) => this.failed(conn),
      },
    });
    try {
      restrictSocketFile(path);
    } catch (e) {
      this.listener.stop(true);
      throw e;
    }
  }

  get peerCount(): number {
    return this.peers.size;
  }

  private opened(conn: Conn): void {
    const id = this.nextId();
    conn.data = { peer: null };
    if (this.closed) {
      conn.terminate();
      return;
    }
    if (this.peers.size >= this.limits.maxPeers) {
      this.onViolation(id, `connected past the limit of ${this.limits.maxPeers} connections`);
      conn.terminate();
      return;
    }
    const peer: Peer = {
      id,
      key: keyOf(id),
      conn,
      intake: new ZmtpIntake(this.limits),
      held: null,
      heldBytes: 0,
      unsent: [],
      unsentBytes: 0,
    };
    conn.data.peer = peer;
    this.peers.set(peer.key, peer);
    this.write(peer, serverHandshake());
  }

  /** The next serial number's id; after the serial wraps, one still in use is skipped, never shared. */
  private nextId(): Uint8Array {
    for (;;) {
      const id = peerId(++this.serial);
      if (!this.peers.has(keyOf(id))) return id;
    }
  }

  private received(conn: Conn, chunk: Uint8Array): void {
    const peer = conn.data?.peer;
    if (!peer || this.peers.get(peer.key) !== peer) return;
    let messages: Uint8Array[][];
    try {
      messages = peer.intake.feed(chunk);
      if (peer.intake.buffered > 0 && this.bufferedBytes() > this.limits.maxBufferedBytes) {
        throw new IntakeViolation(`took the session past ${this.limits.maxBufferedBytes} bytes of unfinished messages`);
      }
    } catch (e) {
      if (!(e instanceof IntakeViolation)) throw e;
      this.disconnect(peer, e.reason);
      return;
    }
    for (const m of messages) {
      // Cut off while earlier ones were handled (it left its replies unread): nothing more of it is served.
      if (this.peers.get(peer.key) !== peer) return;
      this.onMessage(peer.id, m, false);
    }
  }

  private drained(conn: Conn): void {
    const peer = conn.data?.peer;
    if (!peer) return;
    while (peer.unsent.length > 0) {
      const bytes = peer.unsent[0] as Uint8Array;
      const n = conn.write(bytes);
      if (n < 0) return;
      const taken = Math.min(n, bytes.length);
      peer.unsentBytes -= taken;
      this.unsentBytes -= taken;
      if (n < bytes.length) {
        peer.unsent[0] = bytes.subarray(n);
        return;
      }
      peer.unsent.shift();
    }
  }

  /** The peer hung up (or its connection failed): forgotten, with whatever was held for it. */
  private gone(conn: Conn): void {
    const peer = conn.data?.peer;
    if (!peer) return;
    conn.data.peer = null;
    if (this.peers.get(peer.key) === peer) this.peers.delete(peer.key);
    this.holding.delete(peer);
    this.dropUnsent(peer);
  }

  /** The connection failed, or a handler threw on its input: forgotten and closed, so it holds no slot unseen. */
  private failed(conn: Conn): void {
    this.gone(conn);
    conn.terminate();
  }

  /** Closes the peer's connection at once, dropping what it did not read. */
  private disconnect(peer: Peer, reason: string): void {
    this.peers.delete(peer.key);
    this.holding.delete(peer);
    this.dropUnsent(peer);
    peer.conn.data.peer = null;
    this.onViolation(peer.id, reason);
    peer.conn.terminate();
  }

  private dropUnsent(peer: Peer): void {
    this.unsentBytes -= peer.unsentBytes;
    peer.unsent = [];
    peer.unsentBytes = 0;
  }

  private queue(peer: Peer, bytes: Uint8Array): void {
    peer.unsent.push(bytes);
    peer.unsentBytes += bytes.length;
    this.unsentBytes += bytes.length;
  }

  private bufferedBytes(): number {
    let total = 0;
    for (const p of this.peers.values()) total += p.intake.buffered;
    return total;
  }

  /**
   * Sends one message, never queued behind others for long: a peer that leaves `replyHighWater` writes
   * untaken stopped reading, and it is cut off instead of the core holding its replies.
   *
   * Replies finished together (a batch of calls whose audit records were written at once) reach their
   * peer in as few writes as possible. The first reply to a peer goes out at once; more to the same peer
   * before the current microtasks have run are held and written after them as one chunk (ZMTP frames back
   * to back, which is what the peer reads anyway).
   */
  send(identity: Uint8Array, frames: readonly (Uint8Array | string)[]): SendOutcome | "closed" {
    if (this.closed) return "closed";
    const peer = this.peers.get(keyOf(identity));
    if (!peer) {
      this.dropped++;
      return "unroutable";
    }
    const message = encodeMessage(frames);
    if (peer.held) {
      if (peer.heldBytes + message.length > MAX_JOINED_BYTES) this.release(peer);
      peer.held.push(message);
      peer.heldBytes += message.length;
      return "sent";
    }
    const outcome = this.write(peer, message);
    if (outcome === "sent" && this.peers.get(peer.key) === peer) {
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

  /** One write to the peer's connection; what the kernel does not take waits for drain, within replyHighWater. */
  private write(peer: Peer, bytes: Uint8Array): SendOutcome {
    if (peer.unsent.length > 0) {
      if (peer.unsent.length >= this.limits.replyHighWater) {
        this.disconnect(peer, `stopped reading its replies (${this.limits.replyHighWater} unread)`);
        return "again";
      }
      if (this.unsentBytes + bytes.length > this.limits.maxUnsentBytes) {
        this.disconnect(peer, `left the session past ${this.limits.maxUnsentBytes} bytes of unread replies`);
        return "again";
      }
      this.queue(peer, bytes);
      return "sent";
    }
    const n = peer.conn.write(bytes);
    if (n < 0) {
      this.dropped++;
      return "unroutable";
    }
    if (n < bytes.length) this.queue(peer, n === 0 ? bytes : bytes.subarray(n));
    return "sent";
  }

  close(): void {
    if (this.closed) return;
    this.releaseAll();
    this.closed = true;
    // Closed outright: what a peer was sent is already in its socket's receive queue; a half-closed
    // connection would keep a stopping core's event loop alive until the peer hung up.
    for (const peer of this.peers.values()) {
      peer.conn.data.peer = null;
      peer.conn.terminate();
    }
    this.peers.clear();
    this.holding.clear();
    this.unsentBytes = 0;
    this.listener.stop(true);
    removeSocketFile(this.path);
  }

  private releaseAll(): void {
    this.releaseQueued = false;
    for (const peer of this.holding) {
      this.release(peer);
      peer.held = null;
    }
    this.holding.clear();
  }

  /** Writes what is held for a peer, as one chunk; nothing once the router closed or the peer was cut off. */
  private release(peer: Peer): void {
    const held = peer.held;
    if (!held || held.length === 0) return;
    peer.held = [];
    const bytes = peer.heldBytes;
    peer.heldBytes = 0;
    if (this.closed || this.peers.get(peer.key) !== peer) return;
    this.write(peer, held.length === 1 ? (held[0] as Uint8Array) : Buffer.concat(held, bytes));
  }
}

/** A connection's identity: five bytes, as libzmq's were (a leading zero, then a serial number). */
function peerId(serial: number): Uint8Array {
  const id = new Uint8Array(5);
  new DataView(id.buffer).setUint32(1, serial >>> 0);
  return id;
}

function keyOf(id: Uint8Array): string {
  let s = "";
  for (const b of id) s += String.fromCharCode(b);
  return s;
}
