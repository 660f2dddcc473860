import { afterEach, describe, expect, test } from "bun:test";
import { replyFrame } from "../harness/envelope-factory.ts";
import { FakeTransport, peers } from "../harness/fake-transport.ts";
import { runIpcBinary } from "../harness/ipc.ts";
import { correlationOf, type ScriptedRouter, scriptedRouter } from "../harness/scripted-router.ts";

const request = (correlation = crypto.randomUUID()) =>
  JSON.stringify({ topic: "tool.invoke.t.x", correlation, arguments: {} });

describe("FakeTransport", () => {
  test("virtual time advances only in receive, by the whole timeout when nothing is due", () => {
    const fake = new FakeTransport({ peer: peers.silent() });
    const dealer = fake.io.openDealer("ipc:///x");
    expect(dealer.send(request())).toBe(true);
    expect(fake.now).toBe(0);
    expect(dealer.receive(250)).toBeNull();
    expect(fake.now).toBe(250);
  });

  test("a scheduled reply arrives at its time, not before; sends are recorded with their time", () => {
    const fake = new FakeTransport({
      peer: (req, _n, p) => p.reply(replyFrame.result(req.correlation, "r"), 300),
    });
    const dealer = fake.io.openDealer("ipc:///x");
    dealer.send(request());
    expect(dealer.receive(100)).toBeNull();
    const frames = dealer.receive(1_000);
    expect(fake.now).toBe(300);
    expect(JSON.parse(new TextDecoder().decode(frames?.[0]))).toMatchObject({ kind: "result", result: "r" });
    expect(fake.sent).toEqual([{ at: 0, payload: expect.any(String), delivered: true }]);
  });

  test("messages above maxMessageBytes are dropped, smaller ones delivered", () => {
    const fake = new FakeTransport({
      maxMessageBytes: 10,
      peer: (_req, _n, p) => {
        p.reply("x".repeat(11));
        p.reply("y".repeat(10));
      },
    });
    const dealer = fake.io.openDealer("ipc:///x");
    dealer.send(request());
    expect(new TextDecoder().decode(dealer.receive(10)?.[0])).toBe("y".repeat(10));
    expect(fake.dropped).toHaveLength(1);
  });

  test("refused connections and refused sends", () => {
    expect(() => new FakeTransport({ refuseConnect: true }).io.openDealer("ipc:///x")).toThrow("[TRANSPORT] Error:");
    const fake = new FakeTransport({ refuseSend: true, peer: peers.answering() });
    const dealer = fake.io.openDealer("ipc:///x");
    expect(dealer.send(request())).toBe(false);
    expect(dealer.receive(1_000)).toBeNull();
  });
});

describe("scriptedRouter with the ipc harness", () => {
  let router: ScriptedRouter | null = null;
  afterEach(() => {
    router?.close();
    router = null;
  });

  test("records each request and answers as scripted; runIpcBinary parses the result", async () => {
    router = scriptedRouter((req, answer) => answer(replyFrame.result(correlationOf(req), { seen: req.body?.topic })));
    const r = await runIpcBinary(["t.x", "{}"], { env: { CARAPACE_SOCKET: router.socket } });
    expect(r).toMatchObject({ code: 0, json: { seen: "tool.invoke.t.x" }, stderr: "" });
    expect(router.requests).toHaveLength(1);
    expect(router.requests[0]?.body).toMatchObject({ topic: "tool.invoke.t.x", arguments: {} });
  });

  test("close removes the socket file", async () => {
    const r = scriptedRouter();
    r.close();
    expect(await Bun.file(r.socket).exists()).toBe(false);
  });
});
