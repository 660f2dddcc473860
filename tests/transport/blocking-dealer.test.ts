import { describe, expect, test } from "bun:test";
import { BlockingDealer } from "../../src/transport/blocking-dealer.ts";
import { ZmqSocket } from "../../src/transport/socket.ts";
import { cleanUpAfterEach, type SocketDir, text } from "./helpers.ts";

const { track, newDir } = cleanUpAfterEach();
let dir: SocketDir;

/** BlockingDealer blocks the thread, so its server here is a raw socket read synchronously. */
function receiveSync(socket: ZmqSocket, timeoutMs = 2000): Uint8Array[] {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const msg = socket.tryRecv();
    if (msg) return msg.frames;
    if (performance.now() > deadline) throw new Error("nothing arrived");
    Bun.sleepSync(1);
  }
}

describe("BlockingDealer", () => {
  test("a round trip: the delimiter is added on send and removed from the reply", () => {
    dir = newDir();
    const router = track(new ZmqSocket("ROUTER"));
    router.bind(dir.endpoint("core.sock"));
    const dealer = track(new BlockingDealer(dir.endpoint("core.sock")));
    expect(dealer.send('{"topic":"hello.echo"}')).toBe(true);
    const [identity, delimiter, body] = receiveSync(router);
    expect(delimiter?.length).toBe(0);
    expect(text(body)).toBe('{"topic":"hello.echo"}');
    expect(router.trySend([identity as Uint8Array, "", "reply", new Uint8Array([0, 255])])).toBe("sent");
    const reply = dealer.receive(2000);
    expect(reply?.length).toBe(2);
    expect(text(reply?.[0])).toBe("reply");
    expect(reply?.[1]).toEqual(new Uint8Array([0, 255]));
  });

  test("receive returns null after about the timeout when nothing answers", () => {
    dir = newDir();
    const router = track(new ZmqSocket("ROUTER"));
    router.bind(dir.endpoint("silent.sock"));
    const dealer = track(new BlockingDealer(dir.endpoint("silent.sock")));
    dealer.send("anyone?");
    const start = performance.now();
    expect(dealer.receive(300)).toBeNull();
    const elapsed = performance.now() - start;
    expect(elapsed).toBeGreaterThanOrEqual(295);
    // Returned at its timeout instead of blocking on (the margin is for a loaded machine).
    expect(elapsed).toBeLessThan(5_000);
  });

  test("receive with no server at all also times out instead of throwing", () => {
    dir = newDir();
    const dealer = track(new BlockingDealer(dir.endpoint("nobody.sock")));
    const start = performance.now();
    expect(dealer.receive(150)).toBeNull();
    expect(performance.now() - start).toBeGreaterThanOrEqual(145);
    expect(dealer.receive(0)).toBeNull();
  });

  test("a reply that is already waiting is returned without waiting", () => {
    dir = newDir();
    const router = track(new ZmqSocket("ROUTER"));
    router.bind(dir.endpoint("fast.sock"));
    const dealer = track(new BlockingDealer(dir.endpoint("fast.sock")));
    dealer.send("ping");
    const [identity] = receiveSync(router);
    router.trySend([identity as Uint8Array, "", "first"]);
    router.trySend([identity as Uint8Array, "", "second"]);
    expect(dealer.receive(2000)?.map(text)).toEqual(["first"]);
    expect(dealer.receive(2000)?.map(text)).toEqual(["second"]);
  });
});
