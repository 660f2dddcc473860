import { expect } from "bun:test";
import { type Dirent, readdirSync } from "node:fs";
import { join } from "node:path";
import { ZmqSocket } from "../../src/transport/socket.ts";
import type { RunningCore } from "../harness/core.ts";
import { rawRequest, wire } from "../harness/raw.ts";

export type Json = Record<string, unknown>;
export type AuditRecord = Record<string, unknown>;

/** Generous limits so that only the test that is about rate limits ever meets them. */
export const ROOMY_LIMITS =
  "[security]\nrate_limit_per_minute = 600000\nrate_limit_burst = 10000\nmax_inflight_per_session = 256\n";

/** The highest audit sequence number of a group so far (0 when its log is empty). */
export function auditMark(core: RunningCore, group: string): number {
  const records = core.audit(group);
  return records.length === 0 ? 0 : (records[records.length - 1]?.seq as number);
}

/** Audit records of `group` written after `mark` that match `pred`, waiting up to `ms` for at least one. */
export async function auditAfter(
  core: RunningCore,
  group: string,
  mark: number,
  pred: (r: AuditRecord) => boolean = () => true,
  ms = 10_000,
): Promise<AuditRecord[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const hits = core.audit(group).filter((r) => (r.seq as number) > mark && pred(r));
    if (hits.length > 0 || Date.now() > deadline) return hits;
    await Bun.sleep(20);
  }
}

/** Waits until `count` records of `group` after `mark` match `pred`; returns what is there by then. */
export async function auditCount(
  core: RunningCore,
  group: string,
  mark: number,
  pred: (r: AuditRecord) => boolean,
  count: number,
  ms = 10_000,
): Promise<AuditRecord[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const hits = core.audit(group).filter((r) => (r.seq as number) > mark && pred(r));
    if (hits.length >= count || Date.now() > deadline) return hits;
    await Bun.sleep(20);
  }
}

export function errorOf(reply: Json | null): Json {
  expect(reply).not.toBeNull();
  expect(reply?.kind).toBe("error");
  return (reply as Json).error as Json;
}

/**
 * Sends a hostile frame, expects an error reply with `code` at `stage`, and exactly one new audit record
 * in the session's group saying the same. Returns the error and the record for further checks.
 */
export async function expectRejected(
  core: RunningCore,
  session: { socket: string; group: string; id: string },
  body: string | Uint8Array,
  code: string,
  stage: number,
): Promise<{ error: Json; record: AuditRecord; reply: Json }> {
  const mark = auditMark(core, session.group);
  const reply = rawRequest(session.socket, body);
  const error = errorOf(reply);
  expect(error.code).toBe(code);
  expect(error.stage).toBe(stage);
  expect(typeof error.message).toBe("string");
  expect(typeof error.retriable).toBe("boolean");
  const records = await auditAfter(core, session.group, mark, (r) => r.outcome !== "info");
  expect(records.length).toBe(1);
  const record = records[0] as AuditRecord;
  expect(record.kind).toBe(stage < 6 ? "rejected" : "error");
  expect(record.code).toBe(code);
  expect(record.stage).toBe(stage);
  expect(record.group).toBe(session.group);
  expect(record.session).toBe(session.id);
  expect(typeof (record.detail as Json | undefined)?.reason).toBe("string");
  return { error, record, reply: reply as Json };
}

/** The core still answers a well-formed call on this socket, and the answer is exactly the echo. */
export function expectServing(socket: string, message = `still serving ${crypto.randomUUID()}`): void {
  const correlation = crypto.randomUUID();
  const reply = rawRequest(socket, wire("tool.invoke.hello.echo", { message }, correlation));
  expect(reply).toEqual({ kind: "result", correlation, result: { message } });
}

/**
 * A hostile DEALER that can send any frames (no delimiter, too many frames) and pipeline many requests
 * before reading a reply; receives without blocking the test's event loop.
 */
export class FrameDealer {
  private readonly socket = new ZmqSocket("DEALER", { maxMessageBytes: 8 * 1024 * 1024 });

  constructor(path: string) {
    this.socket.connect(`ipc://${path}`);
  }

  sendFrames(frames: readonly (string | Uint8Array)[]): void {
    expect(this.socket.trySend(frames)).toBe("sent");
  }

  send(body: string | Uint8Array): void {
    this.sendFrames(["", body]);
  }

  /** The next reply frame that is not a heartbeat, or null after `ms`. */
  async receive(ms: number): Promise<Json | null> {
    const deadline = Date.now() + ms;
    for (;;) {
      const msg = this.socket.tryRecv();
      if (msg) {
        const payload = msg.frames[0]?.length === 0 ? msg.frames[1] : msg.frames[0];
        const reply = JSON.parse(new TextDecoder().decode(payload)) as Json;
        if (reply.kind !== "heartbeat") return reply;
        continue;
      }
      if (Date.now() > deadline) return null;
      await Bun.sleep(5);
    }
  }

  async receiveMany(count: number, ms: number): Promise<Json[]> {
    const deadline = Date.now() + ms;
    const out: Json[] = [];
    while (out.length < count) {
      const reply = await this.receive(Math.max(0, deadline - Date.now()));
      if (!reply) break;
      out.push(reply);
    }
    return out;
  }

  close(): void {
    this.socket.close();
  }
}

/** Every Unix socket file left anywhere under `dir`. */
export function socketFilesUnder(dir: string): string[] {
  const found: string[] = [];
  const walk = (d: string) => {
    let entries: Dirent[] = [];
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isSocket()) found.push(p);
    }
  };
  walk(dir);
  return found;
}

export async function droppedFrames(core: RunningCore): Promise<number> {
  const status = await core.carapace(["status", "--json"]);
  expect(status.code).toBe(0);
  return (status.json as Json).dropped_frames as number;
}
