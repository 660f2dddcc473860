/**
 * The core's event bus: an event is built only when someone takes it, and everyone who takes it still
 * gets it — in-process listeners by their topic filter, plugins' handleEvent through the real core.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { EventBus } from "../../src/core/events.ts";
import { mintIdentity } from "../../src/protocol/envelope.ts";
import { installPlugin } from "../fixtures/plugins/install.ts";
import { type RunningCore, startCore, tempHome } from "../harness/core.ts";

const identity = mintIdentity("s-1", "team", "cli");

describe("EventBus listeners", () => {
  test("a filtered listener gets only its topics; an unfiltered one gets every topic", () => {
    const bus = new EventBus("/nonexistent/events.sock");
    const filtered: string[] = [];
    const all: string[] = [];
    bus.onEvent(
      (e) => filtered.push(e.topic),
      (topic) => topic.startsWith("task."),
    );
    const off = bus.onEvent((e) => all.push(e.topic));
    bus.publish(identity, "task.triggered", { id: 1 });
    bus.publish(identity, "call.completed", { ok: true });
    expect(filtered).toEqual(["task.triggered"]);
    expect(all).toEqual(["task.triggered", "call.completed"]);
    expect(bus.wants("call.completed")).toBe(true);
    off();
    expect(bus.wants("call.completed")).toBe(false);
    expect(bus.wants("task.triggered")).toBe(true);
  });

  test("an event nobody takes is never built: its payload is not even read", () => {
    const bus = new EventBus("/nonexistent/events.sock");
    bus.onEvent(
      () => {},
      (topic) => topic === "task.triggered",
    );
    let read = 0;
    const payload = {
      get tool() {
        read++;
        return "x";
      },
    };
    bus.publish(identity, "call.completed", payload);
    expect(read).toBe(0);
    const got: unknown[] = [];
    bus.onEvent((e) => got.push(JSON.parse(JSON.stringify(e.payload))));
    bus.publish(identity, "call.completed", payload);
    expect(got).toEqual([{ tool: "x" }]);
  });
});

describe("events reaching plugins through the running core", () => {
  let core: RunningCore;
  beforeAll(async () => {
    const home = tempHome();
    installPlugin(home, "services-probe");
    installPlugin(home, "event-sink");
    core = await startCore({ home });
  });
  afterAll(() => core.stop());

  test("a plugin's subscribed topic reaches its handleEvent; other events do not", async () => {
    const s = await core.openSession("team");
    expect((await core.ipc(s.socket, "get_session_info")).code).toBe(0);
    const published = await core.ipc(s.socket, "services_probe.publish", { text: "hello sink" });
    expect(published.code).toBe(0);
    const deadline = Date.now() + 30_000;
    let events: { topic: string; group: string; payload: unknown; scopedGroup: string | null }[] = [];
    while (Date.now() < deadline) {
      const seen = await core.ipc(s.socket, "event_sink.seen");
      expect(seen.code).toBe(0);
      events = ((seen.json?.result ?? seen.json) as { events: typeof events }).events;
      if (events.length > 0) break;
      await Bun.sleep(100);
    }
    expect(events).toEqual([
      { topic: "message.inbound", group: "team", payload: { text: "hello sink" }, scopedGroup: "team" },
    ]);
  });
});
