import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { Reactor } from "../../src/transport/reactor.ts";
import type { ZmqSocket } from "../../src/transport/socket.ts";
import { PubSocket, RouterSocket } from "../../src/transport/sockets.ts";
import { type SocketDir, socketDir, text, waitFor } from "./helpers.ts";

const fixtures = join(import.meta.dir, "fixtures");
let dir: SocketDir;
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
  dir?.cleanup();
});

const SAFETY_POLL_MS = 60_000;
/**
 * A message seen within this long was woken by the ZMQ_FD poll, not rescued by the safety poll: far below
 * SAFETY_POLL_MS, and far above what a loaded machine adds (how fast is for `bun run bench`, not here).
 */
const WOKEN_MS = 5_000;

/**
 * A reactor whose safety poll is far away (SAFETY_POLL_MS): anything these tests see within WOKEN_MS was
 * woken by the ZMQ_FD poll, not rescued by the periodic re-check. Counts ZMQ_EVENTS reads = reactor turns.
 */
function countingReactor(): { loop: Reactor; turns: () => number } {
  const loop = new Reactor({ safetyPollMs: SAFETY_POLL_MS });
  let reads = 0;
  const add = loop.add.bind(loop);
  loop.add = (socket: ZmqSocket, onReadable, onWritable) => {
    const events = socket.events.bind(socket);
    socket.events = () => {
      reads++;
      return events();
    };
    return add(socket, onReadable, onWritable);
  };
  return { loop, turns: () => reads };
}

/**
 * Our ROUTER (plus an idle PUB on the same reactor) and a blocking-poll DEALER in a child process. With
 * `socketsBefore`, that many more idle PUBs are added first, after the poller Worker was started for one.
 */
async function routerWithPeer(socketsBefore = 0) {
  dir = socketDir();
  const { loop, turns } = countingReactor();
  if (socketsBefore > 0) {
    const first = new PubSocket(dir.endpoint("first.sock"), {}, loop);
    cleanups.push(() => first.close());
    // Long enough for the reactor to go to sleep with its Worker sized for one socket.
    await Bun.sleep(200);
    for (let i = 0; i < socketsBefore; i++) {
      const pub = new PubSocket(dir.endpoint(`more-${i}.sock`), {}, loop);
      cleanups.push(() => pub.close());
    }
  }
  const inbox: { at: number; body: string }[] = [];
  const identities: Uint8Array[] = [];
  const router = new RouterSocket(
    dir.endpoint("core.sock"),
    (identity, frames) => {
      if (identities.length === 0) identities.push(identity);
      inbox.push({ at: performance.now(), body: text(frames[1]) });
    },
    {},
    loop,
  );
  const pub = new PubSocket(dir.endpoint("events.sock"), {}, loop);
  const child = Bun.spawn([process.execPath, join(fixtures, "blocking-peer.ts"), dir.endpoint("core.sock")], {
    stdout: "inherit",
    stderr: "inherit",
  });
  cleanups.push(() => {
    child.kill();
    pub.close();
    router.close();
  });
  await waitFor(() => inbox.some((m) => m.body === "hello"), "the peer's hello");
  const peer = identities[0] as Uint8Array;
  const command = (body: string) => router.send(peer, ["", body]);
  return { inbox, turns, command, child };
}

describe("Reactor", () => {
  test("goes idle (no polling on the main thread) and still wakes for a message after 1 s of quiet", async () => {
    const { inbox, turns, command } = await routerWithPeer();
    const sentAt = performance.now();
    expect(command("ping:1100")).toBe("sent");
    await Bun.sleep(200);
    const before = turns();
    await Bun.sleep(800);
    const idleTurns = turns() - before;
    // Spinning would be thousands of turns per second; armed, the main thread does nothing.
    expect(idleTurns).toBeLessThan(5);
    await waitFor(() => inbox.some((m) => m.body === "pong:1100"), "the late pong", 1100 + WOKEN_MS);
    const latency = (inbox.find((m) => m.body === "pong:1100")?.at ?? 0) - sentAt;
    expect(latency).toBeGreaterThanOrEqual(1100);
    expect(latency).toBeLessThan(1100 + WOKEN_MS);
  });

  test("a reply to a send made while idle is seen promptly, whatever its delay", async () => {
    const { inbox, command } = await routerWithPeer();
    // The peer answers after `delay` ms: immediately (inside the spin window), just after it, and well after
    // the reactor has re-armed the Worker. Each send happens while idle, after the Worker was armed.
    for (const delay of [0, 1, 4, 10, 30, 120]) {
      await Bun.sleep(60);
      const sentAt = performance.now();
      expect(command(`ping:${delay}`)).toBe("sent");
      await waitFor(() => inbox.some((m) => m.body === `pong:${delay}`), `pong:${delay}`, delay + WOKEN_MS);
      const latency = (inbox.find((m) => m.body === `pong:${delay}`)?.at ?? 0) - sentAt;
      expect(latency).toBeLessThan(delay + WOKEN_MS);
    }
  });

  test("ZMQ_FD edge trap: periodic sends from the main thread (heartbeats) never strand an arriving message", async () => {
    // A send runs libzmq's command processing and can consume the edge of a message that is arriving at
    // that instant; libzmq then signals no more until the socket is read, so without the re-check after
    // every send the message (and all after it) would wait for the safety poll, SAFETY_POLL_MS here. The
    // collision is a race, so one run catches a missing re-check only sometimes; a correct reactor never fails.
    const { inbox, command } = await routerWithPeer();
    const heartbeat = setInterval(() => command("heartbeat"), 1);
    cleanups.push(() => clearInterval(heartbeat));
    command("ticks:60:15");
    await waitFor(() => inbox.some((m) => m.body === "ticks-done"), "all 60 ticks", 60 * 15 + WOKEN_MS);
    const latencies = inbox
      .filter((m) => m.body.startsWith("tick:"))
      .map((m) => performance.timeOrigin + m.at - Number(m.body.slice("tick:".length)));
    expect(latencies.length).toBe(60);
    expect(Math.max(...latencies)).toBeLessThan(WOKEN_MS);
  });

  test("light load: a lone message costs a few turns, not milliseconds of spinning", async () => {
    // Ten ticks 30 ms apart: each is followed by quiet. A fixed multi-millisecond spin after every message
    // would be hundreds of ZMQ_EVENTS reads per tick; the adaptive window stays near its floor.
    // The first batch lets a window widened by the set-up traffic shrink back; the second one is measured.
    const { inbox, turns, command } = await routerWithPeer();
    command("ticks:10:30");
    await waitFor(() => inbox.some((m) => m.body === "ticks-done"), "the first 10 ticks", 5000);
    await Bun.sleep(50);
    const before = turns();
    command("ticks:10:30");
    await waitFor(() => inbox.filter((m) => m.body === "ticks-done").length === 2, "the next 10 ticks", 5000);
    const perTick = (turns() - before) / 11;
    expect(perTick).toBeLessThan(150);
  });

  test("a message to a socket added after the poller Worker started, beyond its first table, wakes it", async () => {
    const { inbox, command, turns } = await routerWithPeer(100);
    await Bun.sleep(200);
    const sentAt = performance.now();
    expect(command("ping:0")).toBe("sent");
    await waitFor(() => inbox.some((m) => m.body === "pong:0"), "the pong", WOKEN_MS);
    expect((inbox.find((m) => m.body === "pong:0")?.at ?? 0) - sentAt).toBeLessThan(WOKEN_MS);
    // And it sleeps: a Worker polling descriptors it was never given would wake it over and over.
    await Bun.sleep(200);
    const before = turns();
    await Bun.sleep(800);
    expect(turns() - before).toBeLessThan(5);
  });

  test("back-to-back traffic after idleness is all seen (busy mode after a wake-up)", async () => {
    const { inbox, command } = await routerWithPeer();
    await Bun.sleep(100);
    for (let i = 0; i < 300; i++) command("ping:0");
    await waitFor(() => inbox.filter((m) => m.body === "pong:0").length === 300, "300 pongs", 5000);
  });

  test("closing the last socket stops the poller Worker, so the process can exit", async () => {
    dir = socketDir();
    const child = Bun.spawn([process.execPath, join(fixtures, "round-trip-then-exit.ts"), dir.path("rt.sock")], {
      stdout: "pipe",
      stderr: "inherit",
    });
    // A hung process never exits; a slow machine may take seconds to start Bun and make the round trip.
    const exited = await Promise.race([child.exited, Bun.sleep(30_000).then(() => "hung" as const)]);
    if (exited === "hung") child.kill();
    expect(exited).toBe(0);
    expect((await new Response(child.stdout).text()).trim()).toBe("round trip done");
  });
});
