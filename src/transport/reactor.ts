import { dlopen, FFIType, ptr } from "bun:ffi";
import { UserError } from "../errors/user-error.ts";
import { IS_COMPILED } from "../platform/compiled.ts";
import { ZMQ } from "./libzmq.ts";
import type { ZmqSocket } from "./socket.ts";

interface Registration {
  socket: ZmqSocket;
  onReadable: () => void;
  onWritable: (() => void) | null;
}

/**
 * Drives readiness for every socket of the process. Busy: it re-checks ZMQ_EVENTS on every turn of the
 * event loop for a short spin window after the last activity (fast, like a busy-poll). Idle: a Worker
 * blocks in poll(2) on the ZMQ_FD descriptors and wakes the main thread (no CPU). ZMQ_FD is edge-triggered
 * and any libzmq call can consume the edge, so every call made on the main thread schedules a re-check.
 *
 * The spin window adapts: it doubles (up to `maxSpinMs`) when a message arrived while spinning, since
 * messages keep coming and a Worker round trip would cost more than the spin; it halves (down to
 * `minSpinMs`) when the window ran out with nothing read. Light load therefore costs a few turns per
 * message, not milliseconds of spinning, while a steady stream keeps the fast path.
 */
export class Reactor {
  private readonly regs = new Set<Registration>();
  private worker: Worker | null = null;
  private armed = false;
  private scheduled = false;
  private lastActivity = 0;
  private wakeFd = -1;
  private spinMs: number;
  private spinning = false;
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
    const reg: Registration = { socket, onReadable, onWritable };
    this.regs.add(reg);
    socket.onTouched = () => this.touch();
    this.wakeWorker();
    this.touch();
    return () => {
      this.regs.delete(reg);
      socket.onTouched = null;
      if (this.regs.size === 0) this.stopWorker();
      else this.wakeWorker();
    };
  }

  /** Call after any libzmq operation on the main thread: re-check soon, since the edge may be gone. */
  touch(): void {
    this.lastActivity = performance.now();
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.turn());
  }

  private turn(): void {
    this.scheduled = false;
    let active = false;
    for (const reg of [...this.regs]) {
      if (reg.socket.closed) continue;
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
    const fds = [...this.regs].filter((r) => !r.socket.closed).map((r) => r.socket.fd());
    if (fds.length === 0) return;
    const worker = this.ensureWorker();
    this.armed = true;
    worker.postMessage({ fds, wakeFd: this.wakeFd, timeoutMs: this.safetyPollMs });
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    this.wakeFd = eventfd();
    const worker = new Worker(workerSpecifier());
    worker.onmessage = () => {
      this.armed = false;
      this.spinning = false;
      if (this.regs.size > 0) this.schedule();
    };
    this.worker = worker;
    return worker;
  }

  private wakeWorker(): void {
    if (this.armed && this.wakeFd >= 0) eventfdWrite(this.wakeFd);
  }

  private stopWorker(): void {
    if (!this.worker) return;
    this.wakeWorker();
    this.worker.terminate();
    this.worker = null;
    this.armed = false;
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
