import { CString, dlopen, FFIType, type Pointer, ptr, toArrayBuffer } from "bun:ffi";
import { cacheCopyOfEmbedded, type LibzmqLocation, libzmqCandidates } from "./libzmq-path.ts";

/** Constants of zmq.h (libzmq 4.3). */
export const ZMQ = {
  PUB: 1,
  SUB: 2,
  DEALER: 5,
  ROUTER: 6,
  XPUB: 9,
  STREAM: 11,
  DONTWAIT: 1,
  SNDMORE: 2,
  ROUTING_ID: 5,
  SUBSCRIBE: 6,
  UNSUBSCRIBE: 7,
  RCVMORE: 13,
  FD: 14,
  EVENTS: 15,
  LINGER: 17,
  RECONNECT_IVL: 18,
  MAXMSGSIZE: 22,
  SNDHWM: 23,
  RCVHWM: 24,
  ROUTER_MANDATORY: 33,
  POLLIN: 1,
  POLLOUT: 2,
  EAGAIN: 11,
  EINTR: 4,
  EHOSTUNREACH: 113,
  ETERM: 156384765,
  MSG_T_SIZE: 64,
} as const;

const symbols = {
  zmq_version: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr], returns: FFIType.void },
  zmq_errno: { args: [], returns: FFIType.i32 },
  zmq_strerror: { args: [FFIType.i32], returns: FFIType.ptr },
  zmq_ctx_new: { args: [], returns: FFIType.ptr },
  zmq_ctx_term: { args: [FFIType.ptr], returns: FFIType.i32 },
  zmq_socket: { args: [FFIType.ptr, FFIType.i32], returns: FFIType.ptr },
  zmq_close: { args: [FFIType.ptr], returns: FFIType.i32 },
  zmq_bind: { args: [FFIType.ptr, FFIType.cstring], returns: FFIType.i32 },
  zmq_connect: { args: [FFIType.ptr, FFIType.cstring], returns: FFIType.i32 },
  zmq_setsockopt: { args: [FFIType.ptr, FFIType.i32, FFIType.ptr, FFIType.u64], returns: FFIType.i32 },
  zmq_getsockopt: { args: [FFIType.ptr, FFIType.i32, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
  zmq_send: { args: [FFIType.ptr, FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i32 },
  zmq_recv: { args: [FFIType.ptr, FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i32 },
  zmq_msg_init: { args: [FFIType.ptr], returns: FFIType.i32 },
  zmq_msg_recv: { args: [FFIType.ptr, FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
  zmq_msg_data: { args: [FFIType.ptr], returns: FFIType.ptr },
  zmq_msg_size: { args: [FFIType.ptr], returns: FFIType.u64 },
  zmq_msg_more: { args: [FFIType.ptr], returns: FFIType.i32 },
  zmq_msg_close: { args: [FFIType.ptr], returns: FFIType.i32 },
  zmq_msg_gets: { args: [FFIType.ptr, FFIType.cstring], returns: FFIType.ptr },
  zmq_poll: { args: [FFIType.ptr, FFIType.i32, FFIType.i64], returns: FFIType.i32 },
} as const;

type Lib = ReturnType<typeof dlopen<typeof symbols>>;
let loaded: { lib: Lib; location: LibzmqLocation } | null = null;

/** Loads libzmq once per process, trying each candidate location in turn. */
export function libzmq(): Lib["symbols"] {
  return load().lib.symbols;
}

export function libzmqLocation(): LibzmqLocation {
  return load().location;
}

function load(): { lib: Lib; location: LibzmqLocation } {
  if (loaded) return loaded;
  const errors: string[] = [];
  const tryOpen = (loc: LibzmqLocation): boolean => {
    try {
      loaded = { lib: dlopen(loc.path, symbols), location: loc };
      return true;
    } catch (e) {
      errors.push(`${loc.origin} ${loc.path}: ${(e as Error).message}`);
      return false;
    }
  };
  for (const loc of libzmqCandidates()) if (tryOpen(loc)) return loaded as never;
  try {
    if (tryOpen(cacheCopyOfEmbedded())) return loaded as never;
  } catch (e) {
    errors.push(`cache copy: ${(e as Error).message}`);
  }
  throw new Error(
    `[TRANSPORT] Error: could not load libzmq (${errors.join("; ")}). ` +
      "Fix: set CARAPACE_LIBZMQ to a libzmq.so, or make $TMPDIR or $CARAPACE_HOME/cache executable.",
  );
}

export function zmqVersion(): string {
  const z = libzmq();
  const a = new Int32Array(1);
  const b = new Int32Array(1);
  const c = new Int32Array(1);
  z.zmq_version(ptr(a), ptr(b), ptr(c));
  return `${a[0]}.${b[0]}.${c[0]}`;
}

export function lastError(): { errno: number; message: string } {
  const errno = libzmq().zmq_errno();
  return { errno, message: lastErrorText(errno) };
}

/** libzmq's text for an errno. */
export function lastErrorText(errno: number): string {
  const p = libzmq().zmq_strerror(errno);
  return p ? new CString(p).toString() : `errno ${errno}`;
}

export class ZmqError extends Error {
  /** What failed, without the component prefix: for a caller that reports it under its own. */
  readonly detail: string;
  constructor(
    readonly op: string,
    readonly errno: number,
    message: string,
  ) {
    super(`[TRANSPORT] Error: ${op} failed: ${message}`);
    this.detail = `${op} failed: ${message}`;
  }
}

/**
 * Runs a libzmq call, again while a signal interrupted it (EINTR: a child's SIGCHLD, a profiler's
 * SIGPROF), then checks it. An interrupted call did nothing, so repeating it is safe.
 */
export function retryInterrupted(call: () => number, op: string): number {
  for (let attempt = 0; ; attempt++) {
    const rc = call();
    if (rc >= 0) return rc;
    if (attempt >= MAX_INTERRUPTED_RETRIES || libzmq().zmq_errno() !== ZMQ.EINTR) return check(rc, op);
  }
}
const MAX_INTERRUPTED_RETRIES = 1000;

export function check(rc: number, op: string): number {
  if (rc < 0) {
    const { errno, message } = lastError();
    throw new ZmqError(op, errno, message);
  }
  return rc;
}

let context: Pointer | null = null;
/** One libzmq context per process; it lives as long as the process. */
export function zmqContext(): Pointer {
  if (!context) {
    const ctx = libzmq().zmq_ctx_new();
    if (!ctx) throw new ZmqError("zmq_ctx_new", lastError().errno, lastError().message);
    context = ctx as Pointer;
  }
  return context as Pointer;
}

export function copyOut(dataPtr: Pointer | null, size: number): Uint8Array {
  if (size === 0 || !dataPtr) return new Uint8Array(0);
  return new Uint8Array(toArrayBuffer(dataPtr, 0, size).slice(0));
}
