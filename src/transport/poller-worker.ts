/**
 * Blocks in poll(2) on the sockets' ZMQ_FD descriptors (plus a wake-up eventfd) so the main thread can
 * sleep with no CPU while idle. It never touches a libzmq socket: it only waits on file descriptors.
 */
import { dlopen, FFIType, ptr } from "bun:ffi";

declare const self: Worker;

const libc = dlopen(process.platform === "darwin" ? "libSystem.B.dylib" : "libc.so.6", {
  poll: { args: [FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i32 },
  read: { args: [FFIType.i32, FFIType.ptr, FFIType.u64], returns: FFIType.i64 },
});
const POLLIN = 1;
const scratch = new BigUint64Array(1);

self.onmessage = (event: MessageEvent<{ fds: number[]; wakeFd: number; timeoutMs: number }>) => {
  const { fds, wakeFd, timeoutMs } = event.data;
  const all = [...fds, wakeFd];
  // struct pollfd { int fd; short events; short revents; } = 8 bytes
  const buf = new ArrayBuffer(all.length * 8);
  const view = new DataView(buf);
  all.forEach((fd, i) => {
    view.setInt32(i * 8, fd, true);
    view.setInt16(i * 8 + 4, POLLIN, true);
  });
  libc.symbols.poll(ptr(new Uint8Array(buf)), all.length, timeoutMs);
  if (view.getInt16((all.length - 1) * 8 + 6, true) !== 0) libc.symbols.read(wakeFd, ptr(scratch), 8);
  self.postMessage(0);
};
