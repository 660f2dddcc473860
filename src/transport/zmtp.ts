/**
 * The server side of ZMTP 3 (NULL mechanism) over a plain stream socket (guarded-router.ts), fed the
 * peer's raw bytes as they arrive. Reading the framing ourselves is what lets the core bound a message while it
 * arrives: a ROUTER only shows a multipart message after libzmq has buffered all of it, and ZMQ_MAXMSGSIZE
 * bounds one frame, not the number of frames. A frame is refused from its header, before its body is read.
 */

export interface IntakeLimits {
  /** Largest frame body accepted. */
  maxFrameBytes: number;
  /** Largest sum of frame bodies in one message. */
  maxMessageBytes: number;
  /** Most frames in one message. */
  maxFrames: number;
}

const GREETING_BYTES = 64;
const MAX_COMMAND_BYTES = 4096;
const FLAG_MORE = 1;
const FLAG_LONG = 2;
const FLAG_COMMAND = 4;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Our greeting (ZMTP 3.1, NULL, not as-server) followed by READY declaring a ROUTER. */
export function serverHandshake(): Uint8Array {
  const greeting = new Uint8Array(GREETING_BYTES);
  greeting[0] = 0xff;
  greeting[9] = 0x7f;
  greeting[10] = 3;
  greeting[11] = 1;
  greeting.set(encoder.encode("NULL"), 12);
  const name = encoder.encode("Socket-Type");
  const value = encoder.encode("ROUTER");
  const body = new Uint8Array(1 + 5 + 1 + name.length + 4 + value.length);
  let at = 0;
  body[at++] = 5;
  body.set(encoder.encode("READY"), at);
  at += 5;
  body[at++] = name.length;
  body.set(name, at);
  at += name.length;
  new DataView(body.buffer).setUint32(at, value.length);
  body.set(value, at + 4);
  const out = new Uint8Array(GREETING_BYTES + 2 + body.length);
  out.set(greeting, 0);
  out[GREETING_BYTES] = FLAG_COMMAND;
  out[GREETING_BYTES + 1] = body.length;
  out.set(body, GREETING_BYTES + 2);
  return out;
}

/** The frames of one message in ZMTP framing, as one buffer (written to the peer's stream in one go). */
export function encodeMessage(frames: readonly (Uint8Array | string)[]): Uint8Array {
  const bodies: Uint8Array[] = new Array(frames.length);
  let total = 0;
  for (let i = 0; i < frames.length; i++) {
    const f = frames[i] as Uint8Array | string;
    const b = typeof f === "string" ? encoder.encode(f) : f;
    bodies[i] = b;
    total += (b.length > 255 ? 9 : 2) + b.length;
  }
  const out = new Uint8Array(total);
  // Taking `out.buffer` costs an allocation of its own in JavaScriptCore: only long frames need the view.
  let view: DataView | null = null;
  let at = 0;
  for (let i = 0; i < bodies.length; i++) {
    const b = bodies[i] as Uint8Array;
    const more = i < bodies.length - 1 ? FLAG_MORE : 0;
    if (b.length > 255) {
      out[at] = more | FLAG_LONG;
      view ??= new DataView(out.buffer);
      view.setBigUint64(at + 1, BigInt(b.length));
      at += 9;
    } else {
      out[at] = more;
      out[at + 1] = b.length;
      at += 2;
    }
    out.set(b, at);
    at += b.length;
  }
  return out;
}

/**
 * One peer's inbound byte stream. `feed` returns the complete messages it finished, or throws
 * IntakeViolation the moment the peer breaks the protocol or a limit; nothing past a limit is buffered.
 */
export class ZmtpIntake {
  private phase: "greeting" | "ready" | "traffic" = "greeting";
  private readonly head = new Uint8Array(GREETING_BYTES);
  private headLen = 0;
  private body: Uint8Array | null = null;
  private bodyLen = 0;
  private bodyFlags = 0;
  private frames: Uint8Array[] = [];
  private messageBytes = 0;

  constructor(private readonly limits: IntakeLimits) {}

  /** Bytes held for the message being received (its finished frames and the frame in progress). */
  get buffered(): number {
    return this.messageBytes + this.bodyLen;
  }

  feed(chunk: Uint8Array): Uint8Array[][] {
    const done: Uint8Array[][] = [];
    let at = 0;
    while (at < chunk.length) {
      if (this.body) {
        const take = Math.min(this.body.length - this.bodyLen, chunk.length - at);
        this.body.set(chunk.subarray(at, at + take), this.bodyLen);
        this.bodyLen += take;
        at += take;
        if (this.bodyLen === this.body.length) this.finishFrame(done);
        continue;
      }
      const need = this.phase === "greeting" ? GREETING_BYTES : this.headerLength();
      const take = Math.min(need - this.headLen, chunk.length - at);
      this.head.set(chunk.subarray(at, at + take), this.headLen);
      this.headLen += take;
      at += take;
      if (this.headLen < need) continue;
      if (this.phase === "greeting") {
        this.checkGreeting();
        this.phase = "ready";
        this.headLen = 0;
      } else if (this.headLen === need && need > 1) {
        this.startFrame(done);
      }
    }
    return done;
  }

  /** 1 until the flags byte is in, then 2 (short) or 9 (long) bytes of frame header. */
  private headerLength(): number {
    if (this.headLen === 0) return 1;
    const flags = this.head[0] as number;
    if (flags & ~(FLAG_MORE | FLAG_LONG | FLAG_COMMAND))
      throw new IntakeViolation("sent a frame with reserved flag bits");
    return flags & FLAG_LONG ? 9 : 2;
  }

  private checkGreeting(): void {
    const h = this.head;
    const mechanism = decoder.decode(h.subarray(12, 32)).replace(/\0+$/, "");
    if (h[0] !== 0xff || ((h[9] as number) & 1) !== 1 || (h[10] as number) < 3 || mechanism !== "NULL") {
      throw new IntakeViolation("sent no ZMTP 3 greeting with the NULL mechanism");
    }
  }

  private startFrame(done: Uint8Array[][]): void {
    const flags = this.head[0] as number;
    const size =
      flags & FLAG_LONG ? Number(new DataView(this.head.buffer, 1, 8).getBigUint64(0)) : (this.head[1] as number);
    this.headLen = 0;
    this.bodyFlags = flags;
    if (flags & FLAG_COMMAND) {
      if (size > MAX_COMMAND_BYTES)
        throw new IntakeViolation(`sent a command frame larger than ${MAX_COMMAND_BYTES} bytes`);
    } else {
      if (this.phase !== "traffic") throw new IntakeViolation("sent a message before the READY command");
      if (size > this.limits.maxFrameBytes) {
        throw new IntakeViolation(`sent a frame of ${size} bytes (the limit is ${this.limits.maxFrameBytes})`);
      }
      if (this.frames.length + 1 > this.limits.maxFrames) {
        throw new IntakeViolation(`sent a message of more than ${this.limits.maxFrames} frames`);
      }
      if (this.messageBytes + size > this.limits.maxMessageBytes) {
        throw new IntakeViolation(`sent a message of more than ${this.limits.maxMessageBytes} bytes`);
      }
    }
    this.body = new Uint8Array(size);
    this.bodyLen = 0;
    if (size === 0) this.finishFrame(done);
  }

  private finishFrame(done: Uint8Array[][]): void {
    const body = this.body as Uint8Array;
    const flags = this.bodyFlags;
    this.body = null;
    this.bodyLen = 0;
    if (flags & FLAG_COMMAND) {
      this.command(body);
      return;
    }
    this.frames.push(body);
    this.messageBytes += body.length;
    if (flags & FLAG_MORE) return;
    done.push(this.frames);
    this.frames = [];
    this.messageBytes = 0;
  }

  /** READY once (from a DEALER); later commands (PING and the like) carry nothing the core needs. */
  private command(body: Uint8Array): void {
    const nameLength = body[0] ?? 0;
    const name = decoder.decode(body.subarray(1, 1 + nameLength));
    if (this.phase === "ready") {
      if (name !== "READY") throw new IntakeViolation(`sent the command ${JSON.stringify(name)} instead of READY`);
      const socketType = readyProperty(body.subarray(1 + nameLength), "Socket-Type");
      if (socketType !== "DEALER")
        throw new IntakeViolation(`sent a READY for a ${socketType ?? "untyped"} socket (only a DEALER may call)`);
      this.phase = "traffic";
    } else if (name === "READY" || name === "ERROR") {
      throw new IntakeViolation(`sent a second handshake command (${name})`);
    }
  }
}

function readyProperty(props: Uint8Array, wanted: string): string | null {
  const view = new DataView(props.buffer, props.byteOffset, props.byteLength);
  let at = 0;
  while (at < props.length) {
    const nameLength = props[at] as number;
    const name = decoder.decode(props.subarray(at + 1, at + 1 + nameLength));
    at += 1 + nameLength;
    if (at + 4 > props.length) return null;
    const valueLength = view.getUint32(at);
    at += 4;
    if (name.toLowerCase() === wanted.toLowerCase()) return decoder.decode(props.subarray(at, at + valueLength));
    at += valueLength;
  }
  return null;
}

export class IntakeViolation extends Error {
  constructor(readonly reason: string) {
    super(`[TRANSPORT] Error: the peer ${reason}. Fix: send one request of at most the documented size.`);
  }
}
