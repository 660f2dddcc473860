/**
 * Interop with an independent ZeroMQ implementation: pyzmq over Debian's own libzmq5 (not the libzmq in
 * the zeromq npm package that our FFI binding loads). Skipped, with the reason printed, where
 * /usr/bin/python3 cannot import zmq.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { prepareSocketDir } from "../../../src/transport/socket.ts";
import { DealerSocket, type Frames, PubSocket, RouterSocket, SubSocket } from "../../../src/transport/sockets.ts";
import { allByteValues, type SocketDir, socketDir, text, waitFor } from "../helpers.ts";
import { INSTALL_HINT, PythonPeer, pythonZmqMissing } from "./python-peer.ts";

const missing = pythonZmqMissing();
if (missing) console.warn(`[interop] skipped: ${missing}. Fix: ${INSTALL_HINT}`);

let dir: SocketDir;
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
  dir?.cleanup();
});
function python(script: string, args: string[]): PythonPeer {
  const peer = new PythonPeer(script, args);
  cleanups.push(() => peer.kill());
  return peer;
}
function track<T extends { close(): void }>(s: T): T {
  cleanups.push(() => s.close());
  return s;
}
/** For binds done by python: the socket dir must exist (we create it as our own binds would). */
function pythonBindEndpoint(name: string): string {
  prepareSocketDir(dir.path(""));
  return dir.endpoint(name);
}

describe.skipIf(missing !== null)("interop with pyzmq (Debian libzmq5)", () => {
  test("our ROUTER serves a python DEALER: 200 multipart requests with binary and empty frames", async () => {
    dir = socketDir();
    const identities = new Set<string>();
    const router: RouterSocket = track(
      new RouterSocket(dir.endpoint("core.sock"), (identity, frames) => {
        identities.add(text(identity));
        const [delimiter, request, ...rest] = frames;
        router.send(identity, [delimiter ?? "", `echo:${text(request)}`, ...rest]);
      }),
    );
    const peer = python("dealer_peer.py", [dir.endpoint("core.sock"), "200"]);
    await peer.exit();
    expect(JSON.parse(peer.lines.at(-1) ?? "{}")).toMatchObject({ ok: true, replies: 200 });
    expect([...identities]).toEqual(["py-dealer"]);
  });

  test("our DEALER calls a python ROUTER: replies come back in order, our routing id is seen", async () => {
    dir = socketDir();
    const peer = python("router_peer.py", [pythonBindEndpoint("py-router.sock")]);
    await waitFor(() => peer.lines.includes("ready"), "the python ROUTER to bind");
    const replies: Frames[] = [];
    const dealer = track(
      new DealerSocket(dir.endpoint("py-router.sock"), (frames) => replies.push(frames), { routingId: "bun-dealer" }),
    );
    const binary = allByteValues();
    for (let i = 0; i < 200; i++) dealer.send([`req-${i}`, binary, new Uint8Array(0)]);
    await waitFor(() => replies.length === 200, "200 replies from python");
    replies.forEach((frames, i) => {
      expect(frames.length).toBe(5);
      expect(text(frames[0])).toBe("from-python");
      expect(text(frames[1])).toBe("bun-dealer");
      expect(text(frames[2])).toBe(`req-${i}`);
      expect(frames[3]).toEqual(binary);
      expect(frames[4]?.length).toBe(0);
    });
    dealer.send(["bye"]);
    await waitFor(() => replies.length === 201, "the goodbye");
    expect(replies[200]?.map(text)).toEqual(["bye"]);
    await peer.exit();
  });

  test("our PUB → python SUB: only subscribed prefixes arrive, bodies intact", async () => {
    dir = socketDir();
    const pub = track(new PubSocket(dir.endpoint("events.sock")));
    const peer = python("sub_peer.py", [dir.endpoint("events.sock"), "carapace.", "session.closed"]);
    const received = () => peer.lines.map((l) => JSON.parse(l) as { topic: string; body_hex: string; frames: number });
    // Slow joiner: publish a marker until python has seen it, so what follows is filtered, not lost.
    const deadline = performance.now() + 20_000;
    while (!received().some((m) => m.topic === "carapace.sync")) {
      if (performance.now() > deadline) throw new Error("python SUB never joined");
      pub.publish("carapace.sync", "");
      await Bun.sleep(10);
    }
    pub.publish("carapace.agent.started", '{"group":"g"}');
    pub.publish("other.topic", "filtered");
    pub.publish("session.closed", "s1");
    pub.publish("session.opened", "filtered");
    pub.publish("carapace.binary", allByteValues());
    pub.publish("carapacex", "filtered");
    pub.publish("carapace.end", "");
    await peer.exit();
    const real = received().filter((m) => m.topic !== "carapace.sync");
    expect(real.map((m) => m.topic)).toEqual([
      "carapace.agent.started",
      "session.closed",
      "carapace.binary",
      "carapace.end",
    ]);
    expect(Buffer.from(real[0]?.body_hex ?? "", "hex").toString()).toBe('{"group":"g"}');
    expect(real[2]?.body_hex).toBe(Buffer.from(allByteValues()).toString("hex"));
    expect(real.every((m) => m.frames === 2)).toBe(true);
  });

  test("python PUB → our SUB: only subscribed prefixes arrive, bodies intact", async () => {
    dir = socketDir();
    const peer = python("pub_peer.py", [pythonBindEndpoint("py-events.sock")]);
    await waitFor(() => peer.lines.includes("ready"), "the python PUB to bind");
    const got: { topic: string; body: Uint8Array }[] = [];
    const sub = track(new SubSocket(dir.endpoint("py-events.sock"), (topic, body) => got.push({ topic, body })));
    sub.subscribe("evt.");
    await waitFor(() => got.some((m) => m.topic === "evt.sync"), "python's sync marker");
    peer.writeLine("go");
    await waitFor(() => got.some((m) => m.topic === "evt.end"), "python's end marker");
    peer.closeStdin();
    await peer.exit();
    const real = got.filter((m) => m.topic !== "evt.sync");
    expect(real.map((m) => m.topic)).toEqual(["evt.one", "evt.binary", "evt.empty", "evt.multi", "evt.end"]);
    expect(text(real[0]?.body)).toBe("1");
    expect(real[1]?.body).toEqual(allByteValues());
    expect(real[2]?.body.length).toBe(0);
    expect(text(real[3]?.body)).toBe("body");
    expect(text(real[4]?.body)).toBe("done");
  });
});
