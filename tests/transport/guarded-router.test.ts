import { describe, expect, test } from "bun:test";
import { existsSync, lstatSync, readFileSync, writeFileSync } from "node:fs";
import { createConnection, type Socket } from "node:net";
import { join } from "node:path";
import { GuardedRouter, type GuardLimits } from "../../src/transport/guarded-router.ts";
import { DealerSocket, type Frames } from "../../src/transport/sockets.ts";
import { encodeMessage } from "../../src/transport/zmtp.ts";
import { greeting, ready, ZmtpPeer } from "../harness/zmtp-peer.ts";
import { allByteValues, cleanUpAfterEach, text, waitFor } from "./helpers.ts";

const { track, newDir } = cleanUpAfterEach();

const LIMITS: GuardLimits = {
  maxFrameBytes: 64 * 1024,
  maxMessageBytes: 64 * 1024 + 512,
  maxFrames: 4,
  maxPeers: 3,
  maxBufferedBytes: 100 * 1024,
  replyHighWater: 4,
  maxUnsentBytes: 64 * 1024 * 1024,
};

/**
 * A guarded ROUTER whose requests go to `serve` (given the router to answer through), plus the reasons
 * it gave for each peer it cut off.
 */
function servingRouter(
  endpoint: string,
  serve: (router: GuardedRouter, identity: Uint8Array, frames: Frames) => void,
  limits = LIMITS,
) {
  const cut: string[] = [];
  const router: GuardedRouter = track(
    new GuardedRouter(
      endpoint,
      (identity, frames) => serve(router, identity, frames),
      (_identity, reason) => cut.push(reason),
      limits,
    ),
  );
  return { router, cut };
}

/** A guarded ROUTER that echoes every message back, plus what it saw and whom it cut off. */
function echoRouter(endpoint: string, limits = LIMITS) {
  const seen: Frames[] = [];
  const { router, cut } = servingRouter(
    endpoint,
    (r, identity, frames) => {
      seen.push(frames);
      r.send(identity, frames);
    },
    limits,
  );
  return { router, seen, cut };
}

describe("guarded ROUTER with libzmq DEALER peers", () => {
  test("requests and replies cross unchanged: the delimiter, every byte value, a long frame", async () => {
    const dir = newDir();
    const { seen } = echoRouter(dir.endpoint("g.sock"));
    const replies: Frames[] = [];
    const dealer = track(new DealerSocket(dir.endpoint("g.sock"), (f) => replies.push(f)));
    const long = "y".repeat(60_000);
    dealer.send(["hello"]);
    dealer.send([allByteValues()]);
    dealer.send([long]);
    await waitFor(() => replies.length === 3, "three echoes");
    expect(seen.map((f) => f.map((x) => x.length))).toEqual([
      [0, 5],
      [0, 256],
      [0, 60_000],
    ]);
    expect(text(replies[0]?.[0])).toBe("hello");
    expect(replies[1]?.[0]).toEqual(allByteValues());
    expect(text(replies[2]?.[0])).toBe(long);
  });

  test("replies finished together reach each peer whole and in order, joined or not", async () => {
    const dir = newDir();
    const { cut } = servingRouter(
      dir.endpoint("j.sock"),
      (router, identity, frames) => {
        // One request, many replies in the same microtasks: small ones, one past the joining bound, more.
        const n = Number(text(frames[1]));
        for (let i = 0; i < n; i++) router.send(identity, ["", i === 5 ? "L".repeat(70_000) : `reply ${i}`]);
        queueMicrotask(() => router.send(identity, ["", "after a microtask"]));
      },
      // Peer A gets five sends in one burst; with the suite's 4 a loaded machine whose libzmq I/O thread
      // has not run yet cuts A off as a peer that stopped reading (that limit has its own tests).
      { ...LIMITS, replyHighWater: 64 },
    );
    const a: Frames[] = [];
    const b: Frames[] = [];
    const dealerA = track(new DealerSocket(dir.endpoint("j.sock"), (f) => a.push(f)));
    const dealerB = track(new DealerSocket(dir.endpoint("j.sock"), (f) => b.push(f)));
    dealerA.send(["20"]);
    dealerB.send(["3"]);
    await waitFor(() => (a.length === 21 && b.length === 4) || cut.length > 0, "every reply");
    expect(cut).toEqual([]);
    const want = (n: number) => [
      ...Array.from({ length: n }, (_, i) => (i === 5 ? "L".repeat(70_000) : `reply ${i}`)),
      "after a microtask",
    ];
    expect(a.map((f) => text(f[0]))).toEqual(want(20));
    expect(b.map((f) => text(f[0]))).toEqual(want(3));
    expect(cut).toEqual([]);
  });

  test("a request split into one-byte writes, and requests written back to back, each arrive whole", async () => {
    const dir = newDir();
    const { seen, cut } = echoRouter(dir.endpoint("k.sock"));
    const conn = createConnection(dir.path("k.sock"));
    await new Promise<void>((resolve) => conn.once("connect", () => resolve()));
    conn.setNoDelay?.(true);
    const bytes = [...greeting(), ...ready("DEALER"), ...encodeMessage(["", "z".repeat(300)])];
    for (const b of bytes) await new Promise<void>((resolve) => conn.write(new Uint8Array([b]), () => resolve()));
    await waitFor(() => seen.length === 1, "the request split byte by byte");
    conn.write(Buffer.concat([encodeMessage(["", "one"]), encodeMessage(["", "two"]), encodeMessage(["", "three"])]));
    await waitFor(() => seen.length === 4, "three requests from one write");
    expect(seen.map((f) => text(f[1]))).toEqual(["z".repeat(300), "one", "two", "three"]);
    expect(cut).toEqual([]);
    conn.destroy();
  });

  test("a peer past a limit is disconnected and reported; other peers keep being answered", async () => {
    const dir = newDir();
    const { router, cut } = echoRouter(dir.endpoint("c.sock"));
    const peer = await ZmtpPeer.connect(dir.path("c.sock"));
    await peer.streamMessage(100, 1024);
    await Promise.race([peer.whenClosed, Bun.sleep(20_000)]);
    expect(peer.closed).toBe(true);
    expect(cut).toEqual(["sent a message of more than 4 frames"]);
    await waitFor(() => router.peerCount === 0, "the peer forgotten");
    const replies: Frames[] = [];
    const dealer = track(new DealerSocket(dir.endpoint("c.sock"), (f) => replies.push(f)));
    dealer.send(["still here"]);
    await waitFor(() => replies.length === 1, "an answer after the cut-off");
  });

  test("connections past maxPeers, and unfinished bytes past maxBufferedBytes, are cut off", async () => {
    const dir = newDir();
    const { cut } = echoRouter(dir.endpoint("p.sock"));
    const peers = [];
    for (let i = 0; i < 4; i++) peers.push(await ZmtpPeer.connect(dir.path("p.sock")));
    await waitFor(() => cut.length === 1, "the fourth connection cut off");
    expect(cut).toEqual(["connected past the limit of 3 connections"]);
    const header = new Uint8Array([3, 0, 0, 0, 0, 0, 0, 0xf0, 0]);
    for (const p of peers.slice(0, 3)) await p.write(header).then(() => p.write(new Uint8Array(50 * 1024)));
    await waitFor(() => cut.length === 2, "the peer past the buffered-bytes budget cut off");
    expect(cut[1]).toBe("took the session past 102400 bytes of unfinished messages");
    for (const p of peers) p.close();
  });

  test("a peer that stops reading its replies is cut off; replies to the others are not held back", async () => {
    const dir = newDir();
    const { cut } = echoRouter(dir.endpoint("s.sock"));
    const stalled = createConnection(dir.path("s.sock"));
    await new Promise<void>((resolve) => stalled.once("connect", () => resolve()));
    // Cut off, its connection is closed while it still writes: those writes fail with EPIPE.
    stalled.on("error", () => {});
    stalled.pause();
    stalled.write(greeting());
    stalled.write(ready("DEALER"));
    const request = encodeMessage(["", "z".repeat(60_000)]);
    for (let i = 0; i < 200; i++) stalled.write(request);
    await waitFor(() => cut.length === 1, "the stalled peer cut off", 10_000);
    expect(cut).toEqual(["stopped reading its replies (4 unread)"]);
    const replies: Frames[] = [];
    const dealer = track(new DealerSocket(dir.endpoint("s.sock"), (f) => replies.push(f)));
    dealer.send(["not held back"]);
    await waitFor(() => replies.length === 1, "an answer to another peer");
    expect(text(replies[0]?.[0])).toBe("not held back");
    stalled.destroy();
  });

  test("a connection whose input makes a handler throw is closed, not kept", async () => {
    const dir = newDir();
    const { router } = servingRouter(dir.endpoint("t.sock"), () => {
      throw new Error("a handler's fault");
    });
    // Bun reports a handler's exception to the socket's error callback and leaves the connection open:
    // forgotten there but not closed, it would hold a descriptor outside the count of maxPeers.
    const closed: boolean[] = [];
    const conns: Socket[] = [];
    for (let i = 0; i < LIMITS.maxPeers + 2; i++) {
      const conn = createConnection(dir.path("t.sock"));
      conn.on("error", () => {});
      conn.resume(); // the core's greeting read, so its hang-up is seen
      conn.on("close", () => {
        closed[i] = true;
      });
      await new Promise<void>((resolve) => conn.once("connect", () => resolve()));
      conn.write(Buffer.concat([greeting(), ready("DEALER"), encodeMessage(["", "boom"])]));
      conns.push(conn);
    }
    await waitFor(() => conns.every((_, i) => closed[i]), "every such connection closed");
    expect(router.peerCount).toBe(0);
  });

  test("a peer cut off for unread replies has none of its later requests served, even from the same read", async () => {
    const dir = newDir();
    let served = 0;
    let servedAtCut = -1;
    const router: GuardedRouter = track(
      new GuardedRouter(
        dir.endpoint("r.sock"),
        (identity) => {
          served++;
          router.send(identity, ["", "r".repeat(60_000)]);
        },
        () => {
          if (servedAtCut < 0) servedAtCut = served;
        },
        LIMITS,
      ),
    );
    const conn = createConnection(dir.path("r.sock"));
    conn.on("error", () => {});
    await new Promise<void>((resolve) => conn.once("connect", () => resolve()));
    conn.pause();
    // 2000 small requests in one write: the kernel hands them over in one read, the replies never read.
    const request = encodeMessage(["", "q"]);
    conn.write(Buffer.concat([greeting(), ready("DEALER"), ...Array.from({ length: 2000 }, () => request)]));
    await waitFor(() => servedAtCut >= 0, "the peer cut off");
    await waitFor(() => router.peerCount === 0, "the peer forgotten");
    expect(servedAtCut).toBeLessThan(2000);
    expect(served).toBe(servedAtCut);
    conn.destroy();
  });

  test("once the peer serial wraps, a new peer never takes the id of one still connected", async () => {
    const dir = newDir();
    const { router, cut } = echoRouter(dir.endpoint("w.sock"));
    const serial = router as unknown as { serial: number };
    serial.serial = 2 ** 32 - 1;
    const first: Frames[] = [];
    const a = track(new DealerSocket(dir.endpoint("w.sock"), (f) => first.push(f)));
    a.send(["to the first"]);
    await waitFor(() => first.length === 1, "the first peer answered");
    // The next serial's id, taken modulo 2^32, is the first peer's.
    serial.serial = 2 * 2 ** 32 - 1;
    const second: Frames[] = [];
    const b = track(new DealerSocket(dir.endpoint("w.sock"), (f) => second.push(f)));
    b.send(["to the second"]);
    await waitFor(() => second.length === 1, "the second peer answered");
    a.send(["the first again"]);
    await waitFor(() => first.length === 2, "the first peer answered again");
    expect(first.map((f) => text(f[0]))).toEqual(["to the first", "the first again"]);
    expect(second.map((f) => text(f[0]))).toEqual(["to the second"]);
    expect(cut).toEqual([]);
  });

  test("replies left untaken across the session are bounded: the peer that passes the budget is cut off", async () => {
    const dir = newDir();
    const served = new Map<string, number>();
    const { router, cut } = servingRouter(
      dir.endpoint("u.sock"),
      (r, identity) => {
        const key = text(identity);
        served.set(key, (served.get(key) ?? 0) + 1);
        r.send(identity, ["", "r".repeat(60_000)]);
      },
      // Far more writes than either peer leaves untaken: only the byte budget can cut one off.
      { ...LIMITS, replyHighWater: 1000, maxUnsentBytes: 1024 * 1024 },
    );
    const request = encodeMessage(["", "q"]);
    const stalledPeer = async (requests: number) => {
      const conn = createConnection(dir.path("u.sock"));
      conn.on("error", () => {});
      await new Promise<void>((resolve) => conn.once("connect", () => resolve()));
      conn.pause();
      conn.write(Buffer.concat([greeting(), ready("DEALER"), ...Array.from({ length: requests }, () => request)]));
      return conn;
    };
    // 10 replies of 60 kB: what the kernel does not take stays well under 1 MiB.
    const first = await stalledPeer(10);
    await waitFor(() => [...served.values()].includes(10), "the first peer's replies written");
    // 40 more to a second peer: past the session's budget, whatever the kernel's buffers hold.
    const second = await stalledPeer(40);
    await waitFor(() => cut.length === 1, "the peer past the budget cut off");
    expect(cut).toEqual(["left the session past 1048576 bytes of unread replies"]);
    // The first peer, under the budget, is still served.
    expect(router.peerCount).toBe(1);
    first.destroy();
    second.destroy();
  });

  test("replies a peer takes free the session's budget again: a reading peer is never cut off by it", async () => {
    const dir = newDir();
    const { cut } = servingRouter(
      dir.endpoint("v.sock"),
      // Each request: 12 replies of 60 kB at once, more than the kernel takes, so most wait for drain.
      (router, identity) => {
        for (let i = 0; i < 12; i++) router.send(identity, ["", "r".repeat(60_000)]);
      },
      { ...LIMITS, replyHighWater: 1000, maxUnsentBytes: 1024 * 1024 },
    );
    let replies = 0;
    const dealer = track(new DealerSocket(dir.endpoint("v.sock"), () => replies++));
    for (let round = 1; round <= 6; round++) {
      dealer.send(["more"]);
      await waitFor(() => replies === 12 * round || cut.length > 0, `round ${round} answered`);
      expect(cut).toEqual([]);
    }
  });

  test("a socket file a killed core left is replaced; anything else at the path is refused and kept", async () => {
    const dir = newDir();
    const child = Bun.spawn(
      [process.execPath, join(import.meta.dir, "fixtures", "bind-and-hang.ts"), dir.path("x.sock")],
      {
        stdout: "pipe",
        stderr: "inherit",
      },
    );
    expect(text((await child.stdout.getReader().read()).value)).toContain("bound");
    child.kill("SIGKILL");
    await child.exited;
    expect(lstatSync(dir.path("x.sock")).isSocket()).toBe(true);
    const { router } = echoRouter(dir.endpoint("x.sock"));
    const replies: Frames[] = [];
    track(new DealerSocket(dir.endpoint("x.sock"), (f) => replies.push(f))).send(["after restart"]);
    await waitFor(() => replies.length === 1, "an answer on the replaced socket");
    router.close();
    expect(existsSync(dir.path("x.sock"))).toBe(false);

    writeFileSync(dir.path("y.sock"), "not a socket");
    expect(() => echoRouter(dir.endpoint("y.sock"))).toThrow();
    expect(readFileSync(dir.path("y.sock"), "utf8")).toBe("not a socket");
  });
});
