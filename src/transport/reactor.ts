import { dlopen, FFIType, ptr } from "bun:ffi";
import { UserError } from "../errors/user-error.ts";
import { IS_COMPILED } from "../platform/compiled.ts";
import { ZMQ } from "./libzmq.ts";
import type { PollerStart } from "./poller-worker.ts";
import type { ZmqSocket } from "./socket.ts";

interface Registration {
  socket: ZmqSocket;
  onReadable: () => void;
  onWritable: (() => void) | null;
  /** ZMQ_FD, fixed for the socket's life (read once). */
  fd: number;
  /** A libzmq call was made on it (or its ZMQ_FD fired) since ZMQ_EVENTS was last read. */
  dirty: boolean;
}

/**
 * Drives readiness for every socket of the process. Busy: it re-checks readiness on every turn of the
 * event loop for a short spin window after the last activity (fast, like a busy-poll). Idle: a Worker
 * blocks in poll(2) on the ZMQ_FD descriptors and wakes the main thread (no CPU). ZMQ_FD is edge-triggered
 * and any libzmq call can consume the edge, so every call made on the main thread marks its socket for a
 * re-check.
 *
 * A turn reads ZMQ_EVENTS (a getsockopt that itself polls the socket's mailbox) only on sockets that need
 * it: those marked since their last read, and those whose ZMQ_FD one poll(2) with no timeout finds ready.
 * A socket that is neither has nothing new: libzmq signals ZMQ_FD on the next change after a read of
 * ZMQ_EVENTS, and nothing of ours has touched it since. So a turn costs one system call, not one per socket.
 *
 * The spin window adapts: it doubles (up to `maxSpinMs`) when a message arrived while spinning, since
 * messages keep coming and a Worker round trip would cost more than the spin; it halves (down to
 * `minSpinMs`) when the window ran out with nothing read. Light load therefore costs a few turns per
 * message, not milliseconds of spinning, while a steady stream keeps the fast path.
 */
export class Reactor {
  private readonly regs = new Set<Registration>();
  private readonly bySocket = new Map<ZmqSocket, Registration>();
  private worker: Worker | null = null;
  /** Shared with the Worker: [STOP, GENERATION, COUNT, fd…] (the descriptors it polls). */
  private control: Int32Array<ArrayBufferLike> = new Int32Array(0);
  private armed = false;
  private scheduled = false;
  private lastActivity = 0;
  private wakeFd = -1;
  private spinMs: number;
  private spinning = false;
  /** The registrations as an array and their pollfd array, rebuilt when a socket comes or goes. */
  private list: Registration[] = [];
  private pollfds = new Int32Array(0);
  private listStale = true;
  private readonly minSpinMs: number;
  private readonly maxSpinMs: number;
  private readonly safetyPollMs: number;

  constructor(options: { minSpinMs?: number; maxSpinMs?: number; safetyPollMs?: number } = {}) {
    this.minSpinMs = options.minSpinMs ?? 0.05;
    this.maxSpinMs = options.maxSpinMs ?? 1;
    this.spinMs = this.minSpinMs;
    // Only a safety net: every main-thread call already schedules a re-check.
    this.safetyPollMs = options.safetyPollMs ?? 2000;
  }

  add(socket: ZmqSocket, onReadable: () => void, onWritable: (() => void) | null = null): () => void {
    const reg: Registration = { socket, onReadable, onWritable, fd: socket.fd(), dirty: true };
    this.regs.add(reg);
    this.bySocket.set(socket, reg);
    this.listStale = true;
    socket.onTouched = () => this.touch(socket);
    this.wakeWorker();
    this.touch(socket);
    return () => {
      this.regs.delete(reg);
      this.bySocket.delete(socket);
      this.listStale = true;
      socket.onTouched = null;
      if (this.regs.size === 0) this.stopWorker();
      else this.wakeWorker();
    };
  }

  /**
   * Call after any libzmq operation on the main thread: re-check soon, since the edge may be gone. With
   * the socket only that one is re-read; without, all of them.
   */
  touch(socket?: ZmqSocket): void {
    if (socket) {
      const reg = this.bySocket.get(socket);
      if (reg) reg.dirty = true;
    } else {
      for (const reg of this.regs) reg.dirty = true;
    }
    this.lastActivity = performance.now();
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.turn());
  }

  private refreshList(): void {
    if (!this.listStale) return;
    this.listStale = false;
    this.list = [...this.regs];
    this.pollfds = new Int32Array(this.list.length * 2);
    for (let i = 0; i < this.list.length; i++) {
      this.pollfds[i * 2] = (this.list[i] as Registration).fd;
      this.pollfds[i * 2 + 1] = POLLIN_EVENTS;
    }
  }

  /** One poll(2) with no timeout: marks every socket whose ZMQ_FD is ready. */
  private markReady(): void {
    const n = this.list.length;
    if (n === 0) return;
    const fds = this.pollfds;
    for (let i = 0; i < n; i++) fds[i * 2 + 1] = POLLIN_EVENTS;
    if (pollNow(fds, n) <= 0) return;
    for (let i = 0; i < n; i++)
      if ((fds[i * 2 + 1] as number) >>> 16 !== 0) (this.list[i] as Registration).dirty = true;
  }

  private turn(): void {
    this.scheduled = false;
    this.refreshList();
    this.markReady();
    let active = false;
    for (const reg of this.list) {
      if (!reg.dirty || reg.socket.closed) continue;
      reg.dirty = false;
      let events = reg.socket.events();
      while (events & ZMQ.POLLIN && !reg.socket.closed) {
        active = true;
        reg.onReadable();
        if (reg.socket.closed) break;
        events = reg.socket.events();
      }
      if (reg.onWritable && events & ZMQ.POLLOUT && !reg.socket.closed) reg.onWritable();
    }
    const now = performance.now();
    if (active) {
      if (this.spinning) this.spinMs = Math.min(this.maxSpinMs, this.spinMs * 2);
      this.lastActivity = now;
    }
    if (this.regs.size === 0) return;
    if (now - this.lastActivity < this.spinMs) {
      this.spinning = true;
      this.schedule();
    } else {
      if (this.spinning) this.spinMs = Math.max(this.minSpinMs, this.spinMs / 2);
      this.spinning = false;
      this.arm();
    }
  }

  private arm(): void {
    if (this.armed) return;
    // A socket marked by a call made after its last read must be re-read, not slept on.
    for (const reg of this.list) {
      if (reg.dirty && !reg.socket.closed) {
        this.schedule();
        return;
      }
    }
    let open = 0;
    for (const reg of this.list) if (!reg.socket.closed) open++;
    if (open === 0) return;
    // A Worker's descriptor table is fixed in size: one too small for the sockets is replaced.
    if (this.worker && this.control.length < CONTROL.FDS + open) this.stopWorker();
    this.ensureWorker(open);
    this.publishFds();
    this.armed = true;
    eventfdWrite(this.wakeFd);
  }

  /** Writes the open sockets' descriptors for the Worker, under a new generation only when they changed. */
  private publishFds(): void {
    const control = this.control;
    let i = 0;
    let changed = false;
    for (const reg of this.list) {
      if (reg.socket.closed) continue;
      if (control[CONTROL.FDS + i] !== reg.fd) {
        control[CONTROL.FDS + i] = reg.fd;
        changed = true;
      }
      i++;
    }
    if (!changed && control[CONTROL.COUNT] === i) return;
    Atomics.store(control, CONTROL.COUNT, i);
    Atomics.add(control, CONTROL.GENERATION, 1);
  }

  private ensureWorker(sockets: number): Worker {
    if (this.worker) return this.worker;
    this.wakeFd = eventfd();
    this.control = new Int32Array(new SharedArrayBuffer(4 * (CONTROL.FDS + Math.max(64, sockets * 2))));
    this.control[CONTROL.COUNT] = -1;
    const worker = new Worker(workerSpecifier());
    worker.onmessage = (event: MessageEvent<number>) => {
      this.armed = false;
      this.spinning = false;
      // A descriptor that woke the Worker is found by the turn's own poll; the safety timeout re-reads all.
      if (event.data === 0) for (const reg of this.regs) reg.dirty = true;
      if (this.regs.size > 0) this.schedule();
    };
    worker.postMessage({
      control: this.control,
      armFd: this.wakeFd,
      timeoutMs: this.safetyPollMs,
    } satisfies PollerStart);
    this.worker = worker;
    return worker;
  }

  private wakeWorker(): void {
    if (this.armed && this.wakeFd >= 0) eventfdWrite(this.wakeFd);
  }

  private stopWorker(): void {
    if (!this.worker) return;
    Atomics.store(this.control, CONTROL.STOP, 1);
    eventfdWrite(this.wakeFd);
    this.worker.terminate();
    this.worker = null;
    this.armed = false;
    // The Worker may still read it before it sees STOP; it is never reused (a new Worker gets a new one).
    this.wakeFd = -1;
  }

  /** Lets the process exit while sockets are open (used by short-lived clients). */
  unref(): void {
    this.worker?.unref();
  }
}

/**
 * In a compiled binary the worker is an extra entry point addressed relative to the bundle root (src/);
 * under `bun run` it is a file beside this one.
 */
function workerSpecifier(): string {
  return IS_COMPILED ? "./transport/poller-worker.ts" : new URL("./poller-worker.ts", import.meta.url).href;
}

let libc: ReturnType<typeof openLibc> | null = null;
function openLibc() {
  return dlopen("libc.so.6", {
    eventfd: { args: [FFIType.u32, FFIType.i32], returns: FFIType.i32 },
    write: { args: [FFIType.i32, FFIType.ptr, FFIType.u64], returns: FFIType.i64 },
    poll: { args: [FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i32 },
  });
}
function eventfd(): number {
  libc ??= openLibc();
  const EFD_NONBLOCK = 0o4000;
  const EFD_CLOEXEC = 0o2000000;
  const fd = libc.symbols.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) throw new UserError("TRANSPORT", "eventfd failed", "check the process's file descriptor limit");
  return fd;
}
const POLLIN_EVENTS = 1;
/** Slots of the control array shared with the poller Worker; the descriptors start at FDS. */
const CONTROL = { STOP: 0, GENERATION: 1, COUNT: 2, FDS: 3 } as const;
/** poll(2) with a zero timeout over `count` pollfd structs (two int32 slots each). */
function pollNow(pollfds: Int32Array, count: number): number {
  libc ??= openLibc();
  return libc.symbols.poll(ptr(pollfds), count, 0);
}
const one = new BigUint64Array([1n]);
function eventfdWrite(fd: number): void {
  libc ??= openLibc();
  libc.symbols.write(fd, ptr(one), 8);
}

let shared: Reactor | null = null;
export function reactor(): Reactor {
  shared ??= new Reactor();
  return shared;
}
