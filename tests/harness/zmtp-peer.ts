/**
 * A hostile session client that speaks ZMTP 3 itself over the unix socket, so it can stream a message of
 * any number and size of frames without buffering it first (a libzmq DEALER holds a whole multipart
 * message in memory before it sends a byte).
 */
import type { Socket } from "bun";

const encoder = new TextEncoder();

export function greeting(): Uint8Array {
  const g = new Uint8Array(64);
  g[0] = 0xff;
  g[9] = 0x7f;
  g[10] = 3;
  g[11] = 1;
  g.set(encoder.encode("NULL"), 12);
  return g;
}

export function ready(socketType: string): Uint8Array {
  const name = encoder.encode("Socket-Type");
  const value = encoder.encode(socketType);
  const body = new Uint8Array(6 + 1 + name.length + 4 + value.length);
  body[0] = 5;
  body.set(encoder.encode("READY"), 1);
  body[6] = name.length;
  body.set(name, 7);
  new DataView(body.buffer).setUint32(7 + name.length, value.length);
  body.set(value, 11 + name.length);
  return new Uint8Array([4, body.length, ...body]);
}

/** ZMTP frame header for a data frame of `size` bytes. */
export function frameHeader(size: number, more: boolean): Uint8Array {
  const h = new Uint8Array(9);
  h[0] = (more ? 1 : 0) | 2;
  new DataView(h.buffer).setBigUint64(1, BigInt(size));
  return h;
}

export class ZmtpPeer {
  private socket: Socket<undefined> | null = null;
  private drainWaiters: (() => void)[] = [];
  closed = false;
  readonly whenClosed: Promise<void>;
  private markClosed!: () => void;

  private constructor() {
    this.whenClosed = new Promise((resolve) => {
      this.markClosed = resolve;
    });
  }

  /** Connects and sends the handshake; a core that hangs up at once gives a peer that is already closed. */
  static async connect(path: string, socketType = "DEALER"): Promise<ZmtpPeer> {
    const peer = new ZmtpPeer();
    const hangUp = () => {
      peer.closed = true;
      for (const w of peer.drainWaiters.splice(0)) w();
      peer.markClosed();
    };
    try {
      peer.socket = await Bun.connect({
        unix: path,
        socket: {
          data() {},
          drain() {
            for (const w of peer.drainWaiters.splice(0)) w();
          },
          close: hangUp,
          error: hangUp,
        },
      });
    } catch {
      hangUp();
      return peer;
    }
    await peer.write(greeting());
    await peer.write(ready(socketType));
    return peer;
  }

  /** Writes all of `bytes`, waiting for the socket to drain; false once the core has hung up. */
  async write(bytes: Uint8Array): Promise<boolean> {
    let at = 0;
    while (at < bytes.length) {
      if (this.closed || !this.socket) return false;
      const n = this.socket.write(bytes.subarray(at));
      at += Math.max(n, 0);
      if (at < bytes.length) {
        await Promise.race([new Promise<void>((r) => this.drainWaiters.push(r)), Bun.sleep(50)]);
      }
    }
    return !this.closed;
  }

  /**
   * Streams one message of `frames` frames of `frameBytes` each (all but the last flagged MORE) until the
   * core hangs up; returns how many bytes were accepted by the kernel before that.
   */
  async streamMessage(frames: number, frameBytes: number): Promise<number> {
    const body = new Uint8Array(frameBytes).fill(0x61);
    let sent = 0;
    for (let i = 0; i < frames; i++) {
      if (!(await this.write(frameHeader(frameBytes, i < frames - 1)))) break;
      if (!(await this.write(body))) break;
      sent += 9 + frameBytes;
    }
    return sent;
  }

  close(): void {
    this.socket?.end();
  }
}
