import { describe, expect, test } from "bun:test";
import { ZmqSocket } from "../../src/transport/socket.ts";
import { DealerSocket, MAX_QUEUED_SENDS, RouterSocket } from "../../src/transport/sockets.ts";
import { cleanUpAfterEach, type SocketDir, text, waitFor } from "./helpers.ts";

const { track, newDir } = cleanUpAfterEach();
let dir: SocketDir;

// 4 KiB messages with high-water marks of 1 fill the pipes and the kernel's socket buffers quickly.
const COUNT = 600;
const padding = "x".repeat(4096);
const message = (i: number) => `${String(i).padStart(6, "0")}${padding}`;

/**
 * Reads a raw socket (one the reactor does not drive) until `count` messages arrived; yields to the event
 * loop in between so the sender's queued retries run.
 */
async function readAll(peer: ZmqSocket, count: number, payloadIndex: number): Promise<string[]> {
  const got: string[] = [];
  const deadline = performance.now() + 30_000;
  while (got.length < count) {
    if (performance.now() > deadline) throw new Error(`only ${got.length} of ${count} messages arrived`);
    const msg = peer.tryRecv();
    if (msg) got.push(text(msg.frames[payloadIndex]).slice(0, 6));
    else await Bun.sleep(1);
  }
  return got;
}

const expected = Array.from({ length: COUNT }, (_, i) => String(i).padStart(6, "0"));

describe("EAGAIN: sends are queued and retried, never lost or reordered", () => {
  test("a DEALER with SNDHWM 1 whose ROUTER stops reading, then resumes", async () => {
    dir = newDir();
    const peer = track(new ZmqSocket("ROUTER", { receiveHighWater: 1 }));
    peer.bind(dir.endpoint("bp-dealer.sock"));
    const dealer = track(new DealerSocket(dir.endpoint("bp-dealer.sock"), () => {}, { sendHighWater: 1 }));
    for (let i = 0; i < COUNT; i++) dealer.send([message(i)]);
    // The peer is not reading: the pipe is full and the rest waits in our queue.
    await Bun.sleep(50);
    expect(dealer.pendingSends).toBeGreaterThan(0);
    const got = await readAll(peer, COUNT, 2); // [identity, delimiter, payload]
    expect(got).toEqual(expected);
    await waitFor(() => dealer.pendingSends === 0, "the dealer's queue to drain");
  });

  test("a ROUTER with SNDHWM 1 and ROUTER_MANDATORY whose DEALER stops reading, then resumes", async () => {
    dir = newDir();
    const identities: Uint8Array[] = [];
    const router = track(
      new RouterSocket(dir.endpoint("bp-router.sock"), (identity) => identities.push(identity), {
        sendHighWater: 1,
      }),
    );
    const peer = track(new ZmqSocket("DEALER", { receiveHighWater: 1, routingId: "slow-reader" }));
    peer.connect(dir.endpoint("bp-router.sock"));
    expect(peer.trySend(["", "hello"])).toBe("sent");
    await waitFor(() => identities.length === 1, "the peer's hello");
    const identity = identities[0] as Uint8Array;
    expect(text(identity)).toBe("slow-reader");
    const outcomes = new Set<string>();
    for (let i = 0; i < COUNT; i++) outcomes.add(router.send(identity, ["", message(i)]));
    // Full queue with ROUTER_MANDATORY: "again" (queued), never a silent drop and never "unroutable".
    expect(outcomes.has("again")).toBe(true);
    expect(outcomes.has("unroutable")).toBe(false);
    await Bun.sleep(50);
    expect(router.pendingSends).toBeGreaterThan(0);
    const got = await readAll(peer, COUNT, 1); // [delimiter, payload]
    expect(got).toEqual(expected);
    await waitFor(() => router.pendingSends === 0, "the router's queue to drain");
    expect(router.dropped).toBe(0);
  });

  test("a peer that never reads: the queue stops at its bound and the rest is dropped and counted", async () => {
    dir = newDir();
    const identities: Uint8Array[] = [];
    const router = track(
      new RouterSocket(dir.endpoint("bp-stuck.sock"), (identity) => identities.push(identity), { sendHighWater: 1 }),
    );
    const peer = track(new ZmqSocket("DEALER", { receiveHighWater: 1, routingId: "never-reads" }));
    peer.connect(dir.endpoint("bp-stuck.sock"));
    expect(peer.trySend(["", "hello"])).toBe("sent");
    await waitFor(() => identities.length === 1, "the peer's hello");
    const identity = identities[0] as Uint8Array;
    const total = MAX_QUEUED_SENDS * 3;
    let unroutable = 0;
    for (let i = 0; i < total; i++) if (router.send(identity, ["", message(i)]) === "unroutable") unroutable++;
    expect(router.pendingSends).toBeLessThanOrEqual(MAX_QUEUED_SENDS);
    expect(unroutable).toBeGreaterThan(0);
    expect(router.dropped).toBe(unroutable);
  });
});
