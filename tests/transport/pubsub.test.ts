import { describe, expect, test } from "bun:test";
import { PubSocket, SubSocket } from "../../src/transport/sockets.ts";
import { allByteValues, cleanUpAfterEach, type SocketDir, text, waitFor } from "./helpers.ts";

const { track, newDir } = cleanUpAfterEach();
let dir: SocketDir;

/**
 * A subscription reaches the PUB asynchronously (the "slow joiner"): publish a marker on `topic` until the
 * subscriber has seen it, so later messages are known to be filtered by the PUB, not lost in the join.
 */
async function join(pub: PubSocket, seen: () => boolean, topic: string): Promise<void> {
  const deadline = performance.now() + 20_000;
  while (!seen()) {
    if (performance.now() > deadline) throw new Error(`the subscriber never saw ${topic}`);
    pub.publish(topic, "sync");
    await Bun.sleep(5);
  }
}

describe("PUB/SUB over ipc", () => {
  test("only topics starting with a subscribed prefix are delivered, in order, body intact", async () => {
    dir = newDir();
    const pub = track(new PubSocket(dir.endpoint("events.sock")));
    const got: { topic: string; body: Uint8Array }[] = [];
    const sub = track(new SubSocket(dir.endpoint("events.sock"), (topic, body) => got.push({ topic, body })));
    sub.subscribe("agent.");
    sub.subscribe("session.closed");
    await join(pub, () => got.some((m) => m.topic === "agent.sync"), "agent.sync");

    const published = [
      "agent.started",
      "agents.started", // shares "agent" but not "agent."
      "session.closed",
      "session.closed.extra", // prefix match: delivered
      "session.opened",
      "tool.invoke.hello.echo",
      "agent.stopped",
    ];
    for (const topic of published) pub.publish(topic, `{"topic":"${topic}"}`);
    pub.publish("agent.binary", allByteValues());
    pub.publish("agent.end", "");
    await waitFor(() => got.some((m) => m.topic === "agent.end"), "the end marker");

    const real = got.filter((m) => m.topic !== "agent.sync"); // late copies of the join marker
    expect(real.map((m) => m.topic)).toEqual([
      "agent.started",
      "session.closed",
      "session.closed.extra",
      "agent.stopped",
      "agent.binary",
      "agent.end",
    ]);
    expect(text(real[0]?.body)).toBe('{"topic":"agent.started"}');
    expect(real[4]?.body).toEqual(allByteValues());
    expect(real[5]?.body.length).toBe(0);
  });

  test("unsubscribe stops delivery of that prefix and keeps the others", async () => {
    dir = newDir();
    const pub = track(new PubSocket(dir.endpoint("events.sock")));
    const got: string[] = [];
    const sub = track(new SubSocket(dir.endpoint("events.sock"), (topic) => got.push(topic)));
    sub.subscribe("a.");
    sub.subscribe("b.");
    await join(pub, () => got.includes("a.sync"), "a.sync");
    await join(pub, () => got.includes("b.sync"), "b.sync");

    sub.unsubscribe("a.");
    // The unsubscription travels to the PUB asynchronously, on the same pipe as the subscriptions: once a
    // "b.mark" published after it arrives, the PUB has applied it.
    await join(pub, () => got.includes("b.mark"), "b.mark");
    pub.publish("a.after", "x");
    pub.publish("b.after", "x");
    await waitFor(() => got.includes("b.after"), "b.after");
    await Bun.sleep(20);
    expect(got.filter((t) => t.endsWith(".after"))).toEqual(["b.after"]);
    expect(got).toContain("a.sync"); // delivered before the unsubscribe
  });

  test("a subscriber with no subscription receives nothing", async () => {
    dir = newDir();
    const pub = track(new PubSocket(dir.endpoint("events.sock")));
    const silent: string[] = [];
    track(new SubSocket(dir.endpoint("events.sock"), (topic) => silent.push(topic)));
    // A second, subscribed subscriber proves the messages were really published after both joined.
    const loud: string[] = [];
    const witness = track(new SubSocket(dir.endpoint("events.sock"), (topic) => loud.push(topic)));
    witness.subscribe("");
    await join(pub, () => loud.includes("x.sync"), "x.sync");
    await Bun.sleep(50);
    for (let i = 0; i < 10; i++) pub.publish(`x.${i}`, "x");
    await waitFor(() => loud.includes("x.9"), "the witness to see x.9");
    expect(silent).toEqual([]);
  });

  test("several subscribers each get every matching message", async () => {
    dir = newDir();
    const pub = track(new PubSocket(dir.endpoint("events.sock")));
    const inboxes: string[][] = [[], [], []];
    for (const inbox of inboxes) {
      track(
        new SubSocket(dir.endpoint("events.sock"), (topic, body) => inbox.push(`${topic}:${text(body)}`)),
      ).subscribe("e.");
    }
    await join(pub, () => inboxes.every((b) => b.includes("e.sync:sync")), "e.sync");
    for (let i = 0; i < 200; i++) pub.publish("e.n", String(i));
    await waitFor(() => inboxes.every((b) => b.includes("e.n:199")), "200 events in every inbox");
    const want = Array.from({ length: 200 }, (_, i) => `e.n:${i}`);
    for (const inbox of inboxes) expect(inbox.filter((m) => m.startsWith("e.n:"))).toEqual(want);
  });
});

describe("PUB knows which topics have a subscriber", () => {
  test("none at first; a prefix once subscribed; gone once the last holder unsubscribes or disconnects", async () => {
    dir = newDir();
    const pub = track(new PubSocket(dir.endpoint("events.sock")));
    expect(pub.hasSubscriber("call.completed")).toBe(false);

    const first = track(new SubSocket(dir.endpoint("events.sock"), () => {}));
    first.subscribe("call.");
    await waitFor(() => pub.hasSubscriber("call.completed"), "the subscription to arrive");
    expect(pub.hasSubscriber("call")).toBe(false);
    expect(pub.hasSubscriber("session.opened")).toBe(false);

    // A second holder of the same prefix, and one of everything.
    const second = track(new SubSocket(dir.endpoint("events.sock"), () => {}));
    second.subscribe("call.");
    const all = track(new SubSocket(dir.endpoint("events.sock"), () => {}));
    all.subscribe("");
    await waitFor(() => pub.hasSubscriber("session.opened"), "the subscription to everything");

    all.unsubscribe("");
    await waitFor(() => !pub.hasSubscriber("session.opened"), "the unsubscription");
    expect(pub.hasSubscriber("call.completed")).toBe(true);

    first.close(); // one holder of "call." left
    // Known once a marker prefix of the second subscriber shows up after the close has been seen.
    second.subscribe("marker.");
    await waitFor(() => pub.hasSubscriber("marker.x"), "the marker subscription");
    await Bun.sleep(50);
    expect(pub.hasSubscriber("call.completed")).toBe(true);

    second.close(); // the last holder disconnects without unsubscribing
    await waitFor(() => !pub.hasSubscriber("call.completed"), "the disconnection to drop the prefix");
    expect(pub.hasSubscriber("marker.x")).toBe(false);
  });

  test("what a subscriber gets is unchanged: every matching message once it has joined", async () => {
    dir = newDir();
    const pub = track(new PubSocket(dir.endpoint("events.sock")));
    const got: string[] = [];
    const sub = track(new SubSocket(dir.endpoint("events.sock"), (topic, body) => got.push(`${topic}:${text(body)}`)));
    sub.subscribe("e.");
    await join(pub, () => got.includes("e.sync:sync"), "e.sync");
    for (let i = 0; i < 50; i++) pub.publish(i % 2 ? "e.n" : "f.n", String(i));
    pub.publish("e.end", "");
    await waitFor(() => got.includes("e.end:"), "the end marker");
    const odd = Array.from({ length: 25 }, (_, i) => `e.n:${2 * i + 1}`);
    expect(got.filter((m) => m.startsWith("e.n:"))).toEqual(odd);
  });
});
