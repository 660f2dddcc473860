import { ptr } from "bun:ffi";
import { libzmq, ZMQ } from "./libzmq.ts";
import { ZmqSocket } from "./socket.ts";

/**
 * A DEALER for one-shot clients (`ipc`): blocks in zmq_poll, so it needs no event loop, no Worker, and
 * costs no CPU while it waits.
 */
export class BlockingDealer {
  private readonly socket: ZmqSocket;
  private readonly item = new ArrayBuffer(16); // zmq_pollitem_t { void *socket; int fd; short events; short revents; }

  constructor(endpoint: string) {
    this.socket = new ZmqSocket("DEALER", { maxMessageBytes: 4 * 1024 * 1024 });
    try {
      this.socket.connect(endpoint);
    } catch (e) {
      this.socket.close();
      throw e;
    }
  }

  send(payload: string | Uint8Array): boolean {
    return this.socket.trySend(["", payload]) === "sent";
  }

  /** Waits up to `timeoutMs` for one message; returns its payload frames (delimiter removed) or null. */
  receive(timeoutMs: number): Uint8Array[] | null {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const msg = this.socket.tryRecv();
      if (msg) return msg.frames[0]?.length === 0 ? msg.frames.slice(1) : msg.frames;
      const left = Math.ceil(deadline - performance.now());
      if (left <= 0) return null;
      this.poll(left);
    }
  }

  private poll(timeoutMs: number): void {
    const view = new DataView(this.item);
    view.setBigUint64(0, this.socket.pollHandle(), true);
    view.setInt32(8, 0, true);
    view.setInt16(12, ZMQ.POLLIN, true);
    view.setInt16(14, 0, true);
    libzmq().zmq_poll(ptr(new Uint8Array(this.item)), 1, timeoutMs);
  }

  close(): void {
    this.socket.close();
  }
}
