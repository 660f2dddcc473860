import { CString, type Pointer, ptr } from "bun:ffi";
import {
  chmodSync,
  closeSync,
  constants,
  existsSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  unlinkSync,
} from "node:fs";
import { dirname } from "node:path";
import { UserError } from "../errors/user-error.ts";
import { copyOut, lastError, lastErrorText, libzmq, retryInterrupted, ZMQ, ZmqError, zmqContext } from "./libzmq.ts";

export type SocketType = "ROUTER" | "DEALER" | "PUB" | "XPUB" | "SUB";
export type SendOutcome = "sent" | "again" | "unroutable";

const TYPE_CODES: Record<SocketType, number> = {
  ROUTER: ZMQ.ROUTER,
  DEALER: ZMQ.DEALER,
  PUB: ZMQ.PUB,
  XPUB: ZMQ.XPUB,
  SUB: ZMQ.SUB,
};
const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);
export interface SocketOptions {
  /** Largest inbound message libzmq accepts; bigger ones drop the connection (ZMQ_MAXMSGSIZE). */
  maxMessageBytes?: number;
  receiveHighWater?: number;
  sendHighWater?: number;
  routingId?: string;
  /** Cap on frames per inbound message; extra frames are read and dropped, the message flagged. */
  maxFrames?: number;
  /** Read the sender's credentials (SO_PEERCRED over ipc) with every inbound message. */
  peerCredentials?: boolean;
}

/** Who is on the other end of an ipc connection, as the kernel reported it when the peer connected. */
export interface PeerCredentials {
  uid: number;
  gid: number;
  pid: number;
}

const PEER_ADDRESS = encoder.encode("Peer-Address\0");

/** libzmq appends ":uid:gid:pid" (from SO_PEERCRED) to an ipc peer's "Peer-Address" property. */
export function parsePeerAddress(address: string): PeerCredentials | null {
  const m = /:(\d+):(\d+):(\d+)$/.exec(address);
  return m ? { uid: Number(m[1]), gid: Number(m[2]), pid: Number(m[3]) } : null;
}

/**
 * A synchronous, non-blocking libzmq socket. Every method is a direct FFI call; readiness is driven by
 * the Reactor (see reactor.ts), which must be told (via `touched`) after any call because ZMQ_FD is
 * edge-triggered and any call may consume the edge.
 */
export class ZmqSocket {
  readonly type: SocketType;
  private handle: Pointer | null;
  private readonly msg = new Uint8Array(ZMQ.MSG_T_SIZE);
  private readonly int = new Int32Array(1);
  private readonly sizeBuf = new BigUint64Array(1);
  // Addresses of the scratch buffers above, taken once: they live as long as the socket and JavaScriptCore
  // does not move them, and taking them on every call showed up in the profile of every message.
  private readonly msgPtr: Pointer = ptr(this.msg);
  private readonly intPtr: Pointer = ptr(this.int);
  private readonly sizePtr: Pointer = ptr(this.sizeBuf);
  private cachedFd = -1;
  private readonly maxFrames: number;
  private readonly peerCredentials: boolean;
  private boundPaths: string[] = [];
  onTouched: (() => void) | null = null;

  constructor(type: SocketType, options: SocketOptions = {}) {
    this.type = type;
    const handle = libzmq().zmq_socket(zmqContext(), TYPE_CODES[type]);
    if (!handle) throw new ZmqError("zmq_socket", lastError().errno, lastError().message);
    this.handle = handle as Pointer;
    this.maxFrames = options.maxFrames ?? 16;
    this.peerCredentials = options.peerCredentials === true;
    this.setInt(ZMQ.LINGER, 0);
    if (type === "ROUTER") this.setInt(ZMQ.ROUTER_MANDATORY, 1);
    if (options.maxMessageBytes !== undefined) this.setInt64(ZMQ.MAXMSGSIZE, options.maxMessageBytes);
    if (options.receiveHighWater !== undefined) this.setInt(ZMQ.RCVHWM, options.receiveHighWater);
    if (options.sendHighWater !== undefined) this.setInt(ZMQ.SNDHWM, options.sendHighWater);
    if (options.routingId !== undefined) this.setBytes(ZMQ.ROUTING_ID, encoder.encode(options.routingId));
  }

  get closed(): boolean {
    return this.handle === null;
  }

  private get h(): Pointer {
    if (!this.handle) throw new ZmqError("socket", 0, "socket is closed");
    return this.handle;
  }

  setInt(option: number, value: number): void {
    this.int[0] = value;
    const p = ptr(this.int);
    retryInterrupted(() => libzmq().zmq_setsockopt(this.h, option, p, 4), `zmq_setsockopt(${option})`);
  }

  setInt64(option: number, value: number): void {
    const v = new BigInt64Array([BigInt(value)]);
    const p = ptr(v);
    retryInterrupted(() => libzmq().zmq_setsockopt(this.h, option, p, 8), `zmq_setsockopt(${option})`);
  }

  setBytes(option: number, value: Uint8Array): void {
    const p = value.length > 0 ? ptr(value) : null;
    retryInterrupted(() => libzmq().zmq_setsockopt(this.h, option, p, value.length), `zmq_setsockopt(${option})`);
  }

  getInt(option: number): number {
    this.sizeBuf[0] = 4n;
    if (libzmq().zmq_getsockopt(this.h, option, this.intPtr, this.sizePtr) < 0) {
      retryInterrupted(() => {
        this.sizeBuf[0] = 4n;
        return libzmq().zmq_getsockopt(this.h, option, this.intPtr, this.sizePtr);
      }, `zmq_getsockopt(${option})`);
    }
    return this.int[0] as number;
  }

  subscribe(prefix: string): void {
    this.setBytes(ZMQ.SUBSCRIBE, encoder.encode(prefix));
    this.onTouched?.();
  }

  unsubscribe(prefix: string): void {
    this.setBytes(ZMQ.UNSUBSCRIBE, encoder.encode(prefix));
    this.onTouched?.();
  }

  /** Binds; for ipc:// endpoints the directory is created 0700 (symlinks refused) and the socket made 0600. */
  bind(endpoint: string): void {
    const path = ipcPath(endpoint);
    if (path) prepareSocketDir(dirname(path));
    retryInterrupted(() => libzmq().zmq_bind(this.h, endpoint), `zmq_bind(${endpoint})`);
    if (path) {
      this.boundPaths.push(path);
      restrictSocketFile(path);
    }
  }

  connect(endpoint: string): void {
    retryInterrupted(() => libzmq().zmq_connect(this.h, endpoint), `zmq_connect(${endpoint})`);
  }

  /** ZMQ_EVENTS: bit 1 readable, bit 2 writable. Reading it processes pending commands. */
  events(): number {
    return this.getInt(ZMQ.EVENTS);
  }

  /** The raw socket pointer, for zmq_poll items. */
  pollHandle(): bigint {
    return BigInt(this.h as unknown as number);
  }

  /** ZMQ_FD: the same descriptor for the socket's whole life, so it is read once. */
  fd(): number {
    if (this.cachedFd < 0) this.cachedFd = this.getInt(ZMQ.FD);
    return this.cachedFd;
  }

  /** Sends a multipart message without blocking. */
  trySend(frames: readonly (Uint8Array | string)[]): SendOutcome {
    const z = libzmq();
    let interrupted = 0;
    for (let i = 0; i < frames.length; i++) {
      const raw = frames[i] as Uint8Array | string;
      const data = typeof raw === "string" ? encoder.encode(raw) : raw;
      const flags = ZMQ.DONTWAIT | (i < frames.length - 1 ? ZMQ.SNDMORE : 0);
      const rc = z.zmq_send(this.h, data.length > 0 ? ptr(data) : null, data.length, flags);
      if (rc < 0) {
        const errno = z.zmq_errno();
        if (errno === ZMQ.EINTR && interrupted++ < 1000) {
          i--; // nothing was sent: send this frame again
          continue;
        }
        // A message is atomic: failure can only happen on its first frame.
        if (i === 0 && errno === ZMQ.EAGAIN) return "again";
        if (i === 0 && errno === ZMQ.EHOSTUNREACH) return "unroutable";
        throw new ZmqError("zmq_send", errno, lastErrorText(errno));
      }
    }
    return "sent";
  }

  /**
   * Receives one whole multipart message without blocking, or null when none is waiting. Messages with
   * more than `maxFrames` frames are drained and returned truncated with `overflow` set.
   */
  tryRecv(): { frames: Uint8Array[]; overflow: boolean; peer?: PeerCredentials | null } | null {
    const z = libzmq();
    const m = this.msgPtr;
    const frames: Uint8Array[] = [];
    let overflow = false;
    let peer: PeerCredentials | null | undefined;
    for (;;) {
      z.zmq_msg_init(m);
      const rc = z.zmq_msg_recv(m, this.h, frames.length === 0 && !overflow ? ZMQ.DONTWAIT : 0);
      if (rc < 0) {
        // The errno first: its text (zmq_strerror) is only needed for a real failure, not for "nothing waiting".
        const errno = z.zmq_errno();
        z.zmq_msg_close(m);
        if (errno === ZMQ.EAGAIN && frames.length === 0) return null;
        if (errno === ZMQ.EINTR) continue;
        throw new ZmqError("zmq_msg_recv", errno, lastErrorText(errno));
      }
      const size = Number(z.zmq_msg_size(m));
      if (frames.length < this.maxFrames)
        frames.push(size === 0 ? EMPTY : copyOut(z.zmq_msg_data(m) as Pointer | null, size));
      else overflow = true;
      const more = z.zmq_msg_more(m);
      if (this.peerCredentials && !peer) {
        const address = z.zmq_msg_gets(m, ptr(PEER_ADDRESS)) as Pointer | null;
        peer = address ? parsePeerAddress(new CString(address).toString()) : null;
      }
      z.zmq_msg_close(m);
      if (!more) return this.peerCredentials ? { frames, overflow, peer: peer ?? null } : { frames, overflow };
    }
  }

  close(): void {
    if (!this.handle) return;
    libzmq().zmq_close(this.handle);
    this.handle = null;
    // libzmq unlinks ipc files it bound on close; make sure, so no socket file outlives us.
    for (const p of this.boundPaths) removeSocketFile(p);
    this.boundPaths = [];
  }
}

export function ipcPath(endpoint: string): string | null {
  return endpoint.startsWith("ipc://") ? endpoint.slice("ipc://".length) : null;
}

/** Removes the socket file at `path`, if a socket is there; anything else (or nothing) is left alone. */
export function removeSocketFile(path: string): void {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch {
    // already gone
  }
}

/** Creates a socket directory with mode 0700; refuses a symlink in its place. */
export function prepareSocketDir(dir: string): void {
  if (existsSync(dir)) {
    const st = lstatSync(dir);
    if (st.isSymbolicLink() || !st.isDirectory()) {
      throw new UserError("TRANSPORT", `${dir} is not a plain directory`, "remove it and start again");
    }
  } else {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }
  chmodSync(dir, 0o700);
}

/** Linux's O_PATH (not in node:fs constants): an fd naming the file itself, never opening a socket or FIFO. */
const O_PATH = 0o10000000;

/**
 * Makes the socket file just bound at `path` 0600 without following a link: the directory may be one the
 * agent can write (a session's, mounted into its container), and between bind and this call it could put
 * a symlink in the socket's place; chmod(2) would follow it to any file of the host's. The file is taken
 * by an O_PATH|O_NOFOLLOW fd, refused unless it is a socket, and changed through /proc/self/fd.
 */
export function restrictSocketFile(path: string): void {
  // Without /proc (macOS, or a host that does not mount it) the link check and the chmod stay apart.
  if (process.platform !== "linux" || !existsSync("/proc/self/fd")) {
    if (!lstatSync(path).isSocket()) throw notASocket(path);
    chmodSync(path, 0o600);
    return;
  }
  const fd = openSync(path, O_PATH | constants.O_NOFOLLOW);
  try {
    if (!fstatSync(fd).isSocket()) throw notASocket(path);
    chmodSync(`/proc/self/fd/${fd}`, 0o600);
  } finally {
    closeSync(fd);
  }
}

function notASocket(path: string): UserError {
  return new UserError("TRANSPORT", `${path} is no longer the socket just bound there`, "remove it and start again");
}
