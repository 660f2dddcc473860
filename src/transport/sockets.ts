import { type Reactor, reactor as sharedReactor } from "./reactor.ts";
import { type PeerCredentials, type SendOutcome, type SocketOptions, type SocketType, ZmqSocket } from "./socket.ts";

export type Frames = Uint8Array[];

/**
 * Sends queued behind a full peer queue, at most. A peer that never reads would otherwise grow this
 * process without bound; what does not fit is dropped (counted in `dropped`) and reported as unroutable.
 */
export const MAX_QUEUED_SENDS = 1024;

/** Base for event-loop driven sockets: registers with the reactor and queues sends that hit EAGAIN. */
export abstract class LoopSocket {
  protected readonly socket: ZmqSocket;
  private readonly unregister: () => void;
  private readonly outbox: (readonly (Uint8Array | string)[])[] = [];
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  dropped = 0;

  constructor(
    type: SocketType,
    options: SocketOptions,
    protected readonly loop: Reactor = sharedReactor(),
  ) {
    this.socket = new ZmqSocket(type, options);
    this.unregister = loop.add(
      this.socket,
      () => this.drain(),
      () => this.flush(),
    );
  }

  private drain(): void {
    const msg = this.socket.tryRecv();
    if (msg) this.receive(msg.frames, msg.overflow, msg.peer ?? null);
  }

  protected abstract receive(frames: Frames, overflow: boolean, peer: PeerCredentials | null): void;

  /** Sends now, or queues and retries when the peer's queue is full. Unroutable messages are dropped. */
  protected sendFrames(frames: readonly (Uint8Array | string)[]): SendOutcome | "closed" {
    if (this.socket.closed) return "closed";
    if (this.outbox.length >= MAX_QUEUED_SENDS) {
      this.dropped++;
      return "unroutable";
    }
    if (this.outbox.length > 0) {
      this.outbox.push(frames);
      return "again";
    }
    const outcome = this.socket.trySend(frames);
    this.loop.touch(this.socket);
    if (outcome === "again") {
      this.outbox.push(frames);
      this.scheduleRetry();
    } else if (outcome === "unroutable") {
      this.dropped++;
    }
    return outcome;
  }

  private flush(): void {
    while (this.outbox.length > 0 && !this.socket.closed) {
      const outcome = this.socket.trySend(this.outbox[0] as (Uint8Array | string)[]);
      if (outcome === "again") {
        this.scheduleRetry();
        return;
      }
      if (outcome === "unroutable") this.dropped++;
      this.outbox.shift();
    }
  }

  private scheduleRetry(): void {
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.flush();
      this.loop.touch(this.socket);
    }, 1);
  }

  /** Runs bind/connect; on failure closes the socket, so no reactor registration (or Worker) outlives it. */
  protected attach(step: () => void): void {
    try {
      step();
    } catch (e) {
      this.close();
      throw e;
    }
  }

  get pendingSends(): number {
    return this.outbox.length;
  }

  close(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.unregister();
    this.socket.close();
  }
}

/** ROUTER: sees [identity, empty, payload...] from DEALER peers. */
export class RouterSocket extends LoopSocket {
  constructor(
    endpoint: string,
    private readonly onMessage: (
      identity: Uint8Array,
      frames: Frames,
      overflow: boolean,
      peer: PeerCredentials | null,
    ) => void,
    options: SocketOptions = {},
    loop?: Reactor,
  ) {
    super("ROUTER", options, loop);
    this.attach(() => this.socket.bind(endpoint));
  }
  protected receive(frames: Frames, overflow: boolean, peer: PeerCredentials | null): void {
    const [identity, ...rest] = frames;
    if (identity) this.onMessage(identity, rest, overflow, peer);
  }
  /** "unroutable" means the peer is gone (ZMQ_ROUTER_MANDATORY); "again" means queued for retry. */
  send(identity: Uint8Array, frames: readonly (Uint8Array | string)[]): SendOutcome | "closed" {
    return this.sendFrames([identity, ...frames]);
  }
}

/** DEALER: sends [empty, payload...] so a ROUTER sees the usual delimiter. */
export class DealerSocket extends LoopSocket {
  constructor(
    endpoint: string,
    private readonly onMessage: (frames: Frames) => void,
    options: SocketOptions = {},
    loop?: Reactor,
  ) {
    super("DEALER", options, loop);
    this.attach(() => this.socket.connect(endpoint));
  }
  protected receive(frames: Frames): void {
    this.onMessage(frames[0]?.length === 0 ? frames.slice(1) : frames);
  }
  send(frames: readonly (Uint8Array | string)[]): void {
    this.sendFrames(["", ...frames]);
  }
}

/**
 * PUB: frames [topic, body]. A libzmq XPUB, so it also hears its subscribers' (un)subscriptions and can
 * say whether a topic has a subscriber at all: an event nobody would receive need not be built.
 */
export class PubSocket extends LoopSocket {
  /**
   * Prefixes at least one subscriber holds. libzmq passes a prefix's subscription on when its first
   * subscriber takes it and its unsubscription when the last one drops it (or disconnects).
   */
  private readonly prefixes = new Set<string>();
  /** A subscription whose bytes are not plain text: matched conservatively, as if it were everything. */
  private opaque = 0;

  constructor(endpoint: string, options: SocketOptions = {}, loop?: Reactor) {
    super("XPUB", options, loop);
    this.attach(() => this.socket.bind(endpoint));
  }

  /** Messages on an XPUB are subscriptions: [1, prefix…] to subscribe, [0, prefix…] to unsubscribe. */
  protected receive(frames: Frames): void {
    const [message] = frames;
    if (!message || message.length === 0 || (message[0] !== 0 && message[0] !== 1)) return;
    const bytes = message.subarray(1);
    const prefix = subscriptionDecoder.decode(bytes);
    const exact = subscriptionEncoder.encode(prefix).length === bytes.length && !prefix.includes("\uFFFD");
    if (!exact) this.opaque = Math.max(0, this.opaque + (message[0] === 1 ? 1 : -1));
    else if (message[0] === 1) this.prefixes.add(prefix);
    else this.prefixes.delete(prefix);
  }

  /** Whether a message on `topic` would reach anyone: some subscriber's prefix starts it. */
  hasSubscriber(topic: string): boolean {
    if (this.opaque > 0) return true;
    for (const prefix of this.prefixes) if (topic.startsWith(prefix)) return true;
    return false;
  }

  publish(topic: string, body: string | Uint8Array): void {
    this.sendFrames([topic, body]);
  }
}

const subscriptionDecoder = new TextDecoder();
const subscriptionEncoder = new TextEncoder();

/** SUB: prefix-filtered subscription; delivers [topic, body]. */
export class SubSocket extends LoopSocket {
  private readonly decoder = new TextDecoder();
  constructor(
    endpoint: string,
    private readonly onMessage: (topic: string, body: Uint8Array) => void,
    options: SocketOptions = {},
    loop?: Reactor,
  ) {
    super("SUB", options, loop);
    this.attach(() => this.socket.connect(endpoint));
  }
  subscribe(prefix: string): void {
    this.socket.subscribe(prefix);
  }
  unsubscribe(prefix: string): void {
    this.socket.unsubscribe(prefix);
  }
  protected receive(frames: Frames): void {
    const [topic, body] = frames;
    if (topic && body) this.onMessage(this.decoder.decode(topic), body);
  }
}
