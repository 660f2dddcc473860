/**
 * Blocks in poll(2) on the sockets' ZMQ_FD descriptors (plus the arming eventfd) so the main thread can
 * sleep with no CPU while idle. It never touches a libzmq socket: it only waits on file descriptors.
 *
 * After its first message it never returns to its event loop: it waits for the main thread to arm it by
 * a write to the eventfd (a system call on that side, one wake-up on this one), reads the descriptors from
 * shared memory when their generation changed, polls, and posts what it found. A message per arming made
 * this thread's event loop run twice per call. The same eventfd, written while it polls, wakes it early.
 */
import { dlopen, FFIType, ptr } from "bun:ffi";

declare const self: Worker;

export interface PollerStart {
  /** [STOP, GENERATION, COUNT, fd…]: see CONTROL in reactor.ts. */
  control: Int32Array;
  armFd: number;
  timeoutMs: number;
}

const libc = dlopen(process.platform === "darwin" ? "libSystem.B.dylib" : "libc.so.6", {
  poll: { args: [FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i32 },
  read: { args: [FFIType.i32, FFIType.ptr, FFIType.u64], returns: FFIType.i64 },
});
const POLLIN = 1;
const [STOP, GENERATION, COUNT, FDS] = [0, 1, 2, 3];
const scratch = new BigUint64Array(1);

function run({ control, armFd, timeoutMs }: PollerStart): void {
  // struct pollfd { int fd; short events; short revents; } = 8 bytes: two int32 slots per descriptor,
  // revents in the high half of the second one (little-endian). The arming eventfd is the last one.
  const armOnly = new Int32Array([armFd, POLLIN]);
  let pollfds = new Int32Array(0);
  let count = 0;
  let generation = -1;
  for (;;) {
    armOnly[1] = POLLIN;
    if (libc.symbols.poll(ptr(armOnly), 1, -1) > 0) libc.symbols.read(armFd, ptr(scratch), 8);
    if (Atomics.load(control, STOP) !== 0) return;
    if (Atomics.load(control, GENERATION) !== generation) {
      generation = Atomics.load(control, GENERATION);
      count = Math.min(Atomics.load(control, COUNT), control.length - FDS) + 1;
      pollfds = new Int32Array(count * 2);
      for (let i = 0; i < count - 1; i++) pollfds[i * 2] = control[FDS + i] as number;
      pollfds[(count - 1) * 2] = armFd;
    }
    for (let i = 0; i < count; i++) pollfds[i * 2 + 1] = POLLIN;
    const ready = libc.symbols.poll(ptr(pollfds), count, timeoutMs);
    if ((pollfds[(count - 1) * 2 + 1] as number) >>> 16 !== 0) libc.symbols.read(armFd, ptr(scratch), 8);
    if (Atomics.load(control, STOP) !== 0) return;
    // 0: the safety timeout ran out with nothing ready (the main thread then re-reads every socket).
    self.postMessage(ready > 0 ? 1 : 0);
  }
}

self.onmessage = (event: MessageEvent<PollerStart>) => run(event.data);
