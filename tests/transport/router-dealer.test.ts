import { describe, expect, test } from "bun:test";
import { DealerSocket, type Frames, RouterSocket } from "../../src/transport/sockets.ts";
import { allByteValues, cleanUpAfterEach, type SocketDir, text, waitFor } from "./helpers.ts";

const { track, newDir } = cleanUpAfterEach();
let dir: SocketDir;

/** A ROUTER that echoes every message back to its sender, plus what it saw. */
function echoRouter(endpoint: string) {
  const seen: { identity: string; frames: Frames }[] = [];
  const router: RouterSocket = track(
    new RouterSocket(endpoint, (identity, frames) => {
      seen.push({ identity: text(identity), frames });
      router.send(identity, frames);
    }),
  );
  return { router, seen };
}

describe("ROUTER/DEALER over ipc", () => {
  test("one request gets one reply, with the DEALER's routing id and the delimiter handled", async () => {
    dir = newDir();
    const { seen } = echoRouter(dir.endpoint("rd.sock"));
    const replies: Frames[] = [];
    const dealer = track(
      new DealerSocket(dir.endpoint("rd.sock"), (f) => replies.push(f), { routingId: "dealer-one" }),
    );
    dealer.send(["hello"]);
    await waitFor(() => replies.length === 1, "the echo");
    expect(seen[0]?.identity).toBe("dealer-one");
    // The ROUTER sees the empty delimiter the DEALER adds; the DEALER strips it from the reply.
    expect(seen[0]?.frames.map(text)).toEqual(["", "hello"]);
    expect(replies[0]?.map(text)).toEqual(["hello"]);
  });

  test("2,000 messages sent back to back all arrive, in order", async () => {
    dir = newDir();
    echoRouter(dir.endpoint("many.sock"));
    const replies: string[] = [];
    const dealer = track(new DealerSocket(dir.endpoint("many.sock"), (f) => replies.push(text(f[0]))));
    const count = 2000;
    for (let i = 0; i < count; i++) dealer.send([`msg-${i}`]);
    await waitFor(() => replies.length === count, `${count} echoes`);
    expect(replies).toEqual(Array.from({ length: count }, (_, i) => `msg-${i}`));
  });

  test("multipart messages keep their frames: empty, binary and large frames survive intact", async () => {
    dir = newDir();
    echoRouter(dir.endpoint("multi.sock"));
    const replies: Frames[] = [];
    const dealer = track(new DealerSocket(dir.endpoint("multi.sock"), (f) => replies.push(f)));
    const binary = allByteValues();
    const large = new Uint8Array(256 * 1024).map((_, i) => (i * 7) & 0xff);
    const frames = [new Uint8Array(0), "middle", new Uint8Array(0), binary, large, "ünïcødé ✓"];
    dealer.send(frames);
    await waitFor(() => replies.length === 1, "the multipart echo");
    const got = replies[0] as Frames;
    // The leading empty frame is payload here; the DEALER strips only the delimiter it added itself.
    expect(got.length).toBe(frames.length);
    expect(got[0]?.length).toBe(0);
    expect(text(got[1])).toBe("middle");
    expect(got[2]?.length).toBe(0);
    expect(got[3]).toEqual(binary);
    expect(got[4]).toEqual(large);
    expect(text(got[5])).toBe("ünïcødé ✓");
  });

  test("the ROUTER keeps several DEALERs apart", async () => {
    dir = newDir();
    echoRouter(dir.endpoint("fan.sock"));
    const inboxes: string[][] = [[], [], [], []];
    for (const [i, inbox] of inboxes.entries()) {
      const dealer = track(new DealerSocket(dir.endpoint("fan.sock"), (f) => inbox.push(text(f[0]))));
      for (let n = 0; n < 50; n++) dealer.send([`d${i}-${n}`]);
    }
    await waitFor(() => inboxes.every((b) => b.length === 50), "every dealer's echoes");
    for (const [i, inbox] of inboxes.entries()) {
      expect(inbox).toEqual(Array.from({ length: 50 }, (_, n) => `d${i}-${n}`));
    }
  });

  test("the ROUTER can send first to a DEALER it has heard from", async () => {
    dir = newDir();
    const peers: Uint8Array[] = [];
    const router = track(new RouterSocket(dir.endpoint("push.sock"), (identity) => peers.push(identity)));
    const got: string[] = [];
    const dealer = track(new DealerSocket(dir.endpoint("push.sock"), (f) => got.push(text(f[0]))));
    dealer.send(["register"]);
    await waitFor(() => peers.length === 1, "the registration");
    const peer = peers[0] as Uint8Array;
    for (const n of [1, 2, 3]) expect(router.send(peer, ["", `push-${n}`])).toBe("sent");
    await waitFor(() => got.length === 3, "three pushes");
    expect(got).toEqual(["push-1", "push-2", "push-3"]);
  });
});
