import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { createConnection } from "node:net";
import { encodeMessage } from "../../src/transport/zmtp.ts";
import { type RunningCore, startCore } from "../harness/core.ts";
import { wire } from "../harness/raw.ts";
import { greeting, ready, ZmtpPeer } from "../harness/zmtp-peer.ts";
import { type AuditRecord, auditAfter, auditMark, droppedFrames, expectServing, ROOMY_LIMITS } from "./support.ts";

/**
 * A peer that streams one endless multipart message (many frames, many MiB) into a session socket is cut
 * off while the message arrives: the core's memory stays bounded, the cut-off is audited with its reason,
 * and the session and its neighbours keep answering. The peer speaks ZMTP itself, so nothing buffers the
 * flood on the sending side either.
 */

const MiB = 1024 * 1024;

function rssBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").match(/^VmRSS:\s+(\d+) kB$/m);
  return Number(line?.[1] ?? 0) * 1024;
}

async function hungUp(peer: ZmtpPeer): Promise<boolean> {
  await Promise.race([peer.whenClosed, Bun.sleep(20_000)]);
  return peer.closed;
}

/** Waits (up to 20 s: the core may be slow to get to it under load) until `done` holds. */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !done(); i++) await Bun.sleep(50);
}

const reasonOf = (r: AuditRecord | undefined): unknown => ((r?.detail ?? {}) as AuditRecord).reason;
const cutOff = (r: AuditRecord) => r.kind === "dropped" && String(reasonOf(r)).startsWith("peer cut off");

describe("multipart floods on a session socket", () => {
  let core: RunningCore;
  let hostile: { id: string; socket: string; group: string };
  let neighbour: { id: string; socket: string; group: string };

  beforeAll(async () => {
    core = await startCore({ config: ROOMY_LIMITS });
    hostile = await core.openSession("flood");
    neighbour = await core.openSession("bystander");
    expectServing(hostile.socket);
  });
  afterAll(async () => {
    await core.stop();
  });

  test("256 MiB streamed as one message: cut off after a few MiB, core RSS stays bounded, audited", async () => {
    const before = rssBytes(core.proc.pid);
    const droppedBefore = await droppedFrames(core);
    const mark = auditMark(core, hostile.group);
    const peer = await ZmtpPeer.connect(hostile.socket);
    const accepted = await peer.streamMessage(256, MiB);
    expect(await hungUp(peer)).toBe(true);
    expect(accepted).toBeLessThan(64 * MiB);
    expect(rssBytes(core.proc.pid) - before).toBeLessThan(64 * MiB);
    const [record] = await auditAfter(core, hostile.group, mark, cutOff);
    expect(record).toMatchObject({ kind: "dropped", outcome: "rejected", stage: 3, code: "VALIDATION_FAILED" });
    expect(reasonOf(record)).toMatch(/^peer cut off: it sent a message of more than \d+ bytes$/);
    expect(await droppedFrames(core)).toBe(droppedBefore + 1);
    expectServing(hostile.socket);
    expectServing(neighbour.socket);
  }, 60_000);

  test("a million empty frames in one message: cut off at the frame cap, audited", async () => {
    const mark = auditMark(core, hostile.group);
    const peer = await ZmtpPeer.connect(hostile.socket);
    const accepted = await peer.streamMessage(1_000_000, 0);
    expect(await hungUp(peer)).toBe(true);
    expect(accepted).toBeLessThan(1_000_000 * 9);
    const [record] = await auditAfter(core, hostile.group, mark, cutOff);
    expect(reasonOf(record)).toBe("peer cut off: it sent a message of more than 8 frames");
    expectServing(hostile.socket);
    expectServing(neighbour.socket);
  }, 60_000);

  test("one frame larger than the transport cap is refused from its header, before its body", async () => {
    const mark = auditMark(core, hostile.group);
    const peer = await ZmtpPeer.connect(hostile.socket);
    await peer.streamMessage(1, 64 * MiB);
    expect(await hungUp(peer)).toBe(true);
    const [record] = await auditAfter(core, hostile.group, mark, cutOff);
    expect(reasonOf(record)).toMatch(/^peer cut off: it sent a frame of 67108864 bytes/);
    expectServing(hostile.socket);
  }, 60_000);

  test("connections past the per-session limit are cut off; unfinished messages across peers are bounded", async () => {
    const mark = auditMark(core, hostile.group);
    const before = rssBytes(core.proc.pid);
    const peers: ZmtpPeer[] = [];
    // In batches, so the listen backlog never refuses a connection before the core sees it.
    for (let i = 0; i < 140; i++) {
      peers.push(await ZmtpPeer.connect(hostile.socket));
      if (i % 20 === 19) await Bun.sleep(100);
    }
    await until(() => peers.filter((p) => !p.closed).length <= 128);
    expect(peers.filter((p) => !p.closed).length).toBeLessThanOrEqual(128);
    // Ten open peers each start a 4 MiB frame and send 3 MiB of it: more than the session may hold unfinished.
    const header = new Uint8Array([3, 0, 0, 0, 0, 0, 0x40, 0, 0]);
    const part = new Uint8Array(3 * MiB);
    const open = peers.filter((p) => !p.closed).slice(0, 10);
    await Promise.all(open.map(async (p) => (await p.write(header)) && p.write(part)));
    await until(() => open.some((p) => p.closed));
    expect(open.filter((p) => p.closed).length).toBeGreaterThan(0);
    expect(rssBytes(core.proc.pid) - before).toBeLessThan(96 * MiB);
    // Both kinds of cut-off are audited: wait for the later one, then read them all.
    const overBudget = (r: AuditRecord) =>
      cutOff(r) && String(reasonOf(r)).startsWith("peer cut off: it took the session");
    await auditAfter(core, hostile.group, mark, overBudget);
    const reasons = (await auditAfter(core, hostile.group, mark, cutOff)).map((r) => reasonOf(r));
    expect(reasons).toContain("peer cut off: it connected past the limit of 128 connections");
    expect(reasons.some((r) => String(r).startsWith("peer cut off: it took the session past "))).toBe(true);
    for (const p of peers) p.close();
    expectServing(hostile.socket);
    expectServing(neighbour.socket);
  }, 60_000);

  test("a peer that is not a DEALER, or not ZMTP at all, is cut off at the handshake", async () => {
    const mark = auditMark(core, hostile.group);
    const pub = await ZmtpPeer.connect(hostile.socket, "PUB");
    expect(await hungUp(pub)).toBe(true);
    const [record] = await auditAfter(core, hostile.group, mark, cutOff);
    expect(reasonOf(record)).toBe("peer cut off: it sent a READY for a PUB socket (only a DEALER may call)");
    expectServing(hostile.socket);
  });

  test("a peer that sends requests but never reads the replies is cut off, not queued for", async () => {
    const mark = auditMark(core, hostile.group);
    const stalled = createConnection(hostile.socket);
    await new Promise<void>((resolve) => stalled.once("connect", () => resolve()));
    // Cut off, its connection is closed while it still writes: those writes fail.
    stalled.on("error", () => {});
    stalled.pause();
    stalled.write(greeting());
    stalled.write(ready("DEALER"));
    const message = "m".repeat(50_000);
    for (let i = 0; i < 300; i++) stalled.write(encodeMessage(["", wire("tool.invoke.hello.echo", { message })]));
    const [record] = await auditAfter(core, hostile.group, mark, cutOff, 20_000);
    expect(reasonOf(record)).toBe("peer cut off: it stopped reading its replies (32 unread)");
    expectServing(hostile.socket);
    expectServing(neighbour.socket);
    stalled.destroy();
  }, 60_000);
});
