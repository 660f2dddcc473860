import { expect, test } from "bun:test";
import { AgentManager, type TaskUpdate } from "../../src/agent/manager.ts";
import { cloneDefaults } from "../../src/config/schema.ts";
import { mintIdentity } from "../../src/protocol/envelope.ts";
import { inProcessCore } from "../harness/in-process.ts";

test("message.inbound for a group that is not configured is dropped with an audit record", async () => {
  const core = await inProcessCore();
  const manager = new AgentManager(core.home, core.server.forAgents(), cloneDefaults());
  try {
    core.server.publish(mintIdentity("channel", "strangers", "channel"), "message.inbound", { text: "hello?" });
    for (let i = 0; i < 50 && !core.audit("_core").some((r) => r.topic === "message.inbound"); i++) await Bun.sleep(10);
    const record = core.audit("_core").find((r) => r.topic === "message.inbound");
    expect(record).toMatchObject({
      kind: "event",
      outcome: "rejected",
      detail: { reason: "no configured group", group: "strangers" },
    });
  } finally {
    await manager.stop();
    await core.close();
  }
});

test("policy reject: a second task for a busy group is refused at once", async () => {
  const core = await inProcessCore();
  const config = cloneDefaults();
  config.groups.busy = { policy: "reject" };
  config.runtime.engine = "docker";
  const manager = new AgentManager(core.home, core.server.forAgents(), config);
  try {
    const updates: TaskUpdate[] = [];
    // The first task holds the group while it looks for a runtime; the second arrives meanwhile.
    manager.trigger("busy", "first", () => {});
    manager.trigger("busy", "second", (u) => updates.push(u));
    for (let i = 0; i < 100 && !updates.some((u) => u.kind === "done"); i++) await Bun.sleep(10);
    expect(updates.find((u) => u.kind === "done")).toMatchObject({
      kind: "done",
      ok: false,
      error: expect.stringContaining("policy: reject"),
    });
  } finally {
    await manager.stop();
    await core.close();
  }
});

test("message.inbound with a chat joins that chat's conversation; the end event names it for the channel", async () => {
  const core = await inProcessCore();
  const config = cloneDefaults();
  config.groups.team = {};
  config.runtime.engine = "docker";
  const manager = new AgentManager(core.home, core.server.forAgents(), config);
  const ends: Record<string, unknown>[] = [];
  const off = core.server.onEvent((e) => {
    if (e.topic === "agent.error") ends.push(e.payload as Record<string, unknown>);
  });
  try {
    const from = mintIdentity("plugin:telegram", "team", "plugin:telegram");
    core.server.publish(from, "message.inbound", {
      text: "hi",
      chat: "555",
      sender: { id: "7", name: "Ann" },
      reply_to: 9,
    });
    core.server.publish(from, "message.inbound", { text: "bad chat", chat: "has space" });
    for (let i = 0; i < 200 && ends.length === 0; i++) await Bun.sleep(10);
    const conversation = manager.conversations.store("team").current("telegram:555");
    expect(conversation).not.toBeNull();
    expect(ends[0]).toMatchObject({ reply_to: 9, chat: "555", conversation: conversation?.id });
    for (let i = 0; i < 50 && !core.audit("team").some((r) => r.topic === "message.inbound"); i++) await Bun.sleep(10);
    expect(core.audit("team").find((r) => r.topic === "message.inbound")).toMatchObject({
      outcome: "rejected",
      detail: { reason: expect.stringContaining("invalid chat") },
    });
    // The host's own conversations are out of a channel's reach.
    expect(manager.conversations.store("team").current("cli:555")).toBeNull();
  } finally {
    off();
    await manager.stop();
    await core.close();
  }
});
