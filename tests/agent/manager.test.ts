import { expect, test } from "bun:test";
import { API_KEY_CREDENTIAL } from "../../src/agent/egress-credential.ts";
import { AgentManager, type TaskUpdate } from "../../src/agent/manager.ts";
import { writeCredential } from "../../src/config/credentials.ts";
import { cloneDefaults } from "../../src/config/schema.ts";
import { CARAPACE_VERSION } from "../../src/config/version.ts";
import { MockRuntime } from "../../src/container/adapters/mock.ts";
import { detectRuntimeOnce } from "../../src/container/detect.ts";
import type { ChildProcess } from "../../src/container/exec.ts";
import { CLAUDE_CODE_VERSION, IMAGE_LABELS } from "../../src/container/image.ts";
import type { RunSpec } from "../../src/container/runtime.ts";
import { configureLogStream } from "../../src/core/response/log-stream.ts";
import { mintIdentity } from "../../src/protocol/envelope.ts";
import { inProcessCore } from "../harness/in-process.ts";

test("message.inbound for a group that is not configured is dropped with an audit record", async () => {
  const core = await inProcessCore();
  const config = cloneDefaults();
  const manager = new AgentManager(core.home, core.server.forAgents(), config, () =>
    detectRuntimeOnce({ preference: config.runtime.engine }),
  );
  try {
    core.server.publish(mintIdentity("channel", "strangers", "channel"), "message.inbound", { text: "hello?" });
    for (let i = 0; i < 2000 && !core.audit("_core").some((r) => r.topic === "message.inbound"); i++)
      await Bun.sleep(10);
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

test("at start-up, turns a crashed core left running are recorded failed before any session starts", async () => {
  const core = await inProcessCore();
  const config = cloneDefaults();
  const crashed = new AgentManager(core.home, core.server.forAgents(), config, async () => {
    throw new Error("no runtime in this test");
  });
  const c = crashed.conversations.resolve("alpha", { key: "cli:crash" });
  const turn = crashed.conversations.begin(c, { kind: "owner", via: "cli" }, "book the flight");
  await crashed.stop();
  const manager = new AgentManager(core.home, core.server.forAgents(), config, async () => {
    throw new Error("no runtime in this test");
  });
  try {
    await manager.cleanupOrphans();
    expect(manager.conversations.store("alpha").turns(c.id)).toEqual([{ ...turn.turn, status: "failed" }]);
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
  const manager = new AgentManager(core.home, core.server.forAgents(), config, () =>
    detectRuntimeOnce({ preference: config.runtime.engine }),
  );
  try {
    const updates: TaskUpdate[] = [];
    // The first task holds the group while it looks for a runtime; the second arrives meanwhile.
    manager.trigger("busy", "first", () => {});
    manager.trigger("busy", "second", (u) => updates.push(u));
    for (let i = 0; i < 2000 && !updates.some((u) => u.kind === "done"); i++) await Bun.sleep(10);
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
  const manager = new AgentManager(core.home, core.server.forAgents(), config, () =>
    detectRuntimeOnce({ preference: config.runtime.engine }),
  );
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
    for (let i = 0; i < 2000 && ends.length === 0; i++) await Bun.sleep(10);
    const conversation = manager.conversations.store("team").current("telegram:555");
    expect(conversation).not.toBeNull();
    expect(ends[0]).toMatchObject({ reply_to: 9, chat: "555", conversation: conversation?.id });
    for (let i = 0; i < 2000 && !core.audit("team").some((r) => r.topic === "message.inbound"); i++)
      await Bun.sleep(10);
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

test("a spawn that throws releases what the run set up: confirmation subscription, session, group slot", async () => {
  const core = await inProcessCore();
  const config = cloneDefaults();
  writeCredential(core.home, API_KEY_CREDENTIAL, "a stored key that never leaves the host");
  const labels = { [IMAGE_LABELS.version]: CARAPACE_VERSION, [IMAGE_LABELS.claudeCode]: CLAUDE_CODE_VERSION };
  class RefusingRuntime extends MockRuntime {
    override spawn(spec: RunSpec): ChildProcess {
      this.calls.push(`spawn ${spec.name}`);
      throw new Error("the runtime refused the run spec");
    }
  }
  const runtime = new RefusingRuntime({ images: { [config.runtime.image]: labels } });
  const services = core.server.forAgents();
  let subscribed = 0;
  const approvals: typeof services.approvals = {
    subscribe(listener) {
      subscribed++;
      const unsubscribe = services.approvals.subscribe(listener);
      return () => {
        subscribed--;
        unsubscribe();
      };
    },
  };
  const manager = new AgentManager(core.home, { ...services, approvals }, config, async () => ({
    runtime,
    info: await runtime.info(),
  }));
  try {
    const updates: TaskUpdate[] = [];
    manager.trigger("default", "hello", (u) => updates.push(u));
    for (let i = 0; i < 2000 && !updates.some((u) => u.kind === "done"); i++) await Bun.sleep(10);
    expect(runtime.calls.filter((c) => c.startsWith("spawn"))).toHaveLength(1);
    expect(updates.find((u) => u.kind === "done")).toMatchObject({
      kind: "done",
      ok: false,
      error: expect.stringContaining("the runtime refused the run spec"),
    });
    expect(subscribed).toBe(0);
    expect(core.server.forControl().status().sessions).toEqual([]);
    // The group's slot is free again: the next task reaches the runtime too.
    manager.trigger("default", "again", (u) => updates.push(u));
    for (let i = 0; i < 2000 && updates.filter((u) => u.kind === "done").length < 2; i++) await Bun.sleep(10);
    expect(runtime.calls.filter((c) => c.startsWith("spawn"))).toHaveLength(2);
    expect(subscribed).toBe(0);
  } finally {
    await manager.stop();
    await core.close();
  }
});

test("the agent container's stderr joins the core's log stream: one JSON line per line, tagged, sanitized, no escapes", async () => {
  const core = await inProcessCore();
  const config = cloneDefaults();
  writeCredential(core.home, API_KEY_CREDENTIAL, "a stored key that never leaves the host");
  const labels = { [IMAGE_LABELS.version]: CARAPACE_VERSION, [IMAGE_LABELS.claudeCode]: CLAUDE_CODE_VERSION };
  // Assembled at run time so the repository's secret scan stays clean.
  const leaked = ["sk-ant-", "api03-", "Zx9Cv8Bn7Mm6Lk5Jh4Gf3Ds2"].join("");
  const runtime = new MockRuntime({
    images: { [config.runtime.image]: labels },
    scenario: () => ({
      kind: "crash",
      code: 1,
      stderr: `\u001b[2J\u001b]0;owned\u0007agent fell over ${leaked}\nsecond line\n`,
    }),
  });
  const logged: string[] = [];
  configureLogStream({ format: "json", level: "info", write: (t) => logged.push(t) });
  const manager = new AgentManager(core.home, core.server.forAgents(), config, async () => ({
    runtime,
    info: await runtime.info(),
  }));
  try {
    const updates: TaskUpdate[] = [];
    manager.trigger("default", "hello", (u) => updates.push(u));
    for (let i = 0; i < 2000 && !updates.some((u) => u.kind === "done"); i++) await Bun.sleep(10);
    const session = runtime.calls.find((c) => c.startsWith("spawn"));
    expect(session).toBeDefined();
    const agentLines = logged
      .map((l) => JSON.parse(l) as { level: string; msg: string; component?: string })
      .filter((l) => l.component?.startsWith("agent "));
    expect(agentLines.map((l) => l.msg)).toEqual(["agent fell over [REDACTED:sk_key]", "second line"]);
    expect(agentLines[0]?.component).toMatch(/^agent [0-9a-f]{8}$/);
    const text = logged.join("");
    expect(text).not.toContain(leaked);
    expect(text).not.toContain("\\u001b");
    expect(text).not.toContain("\\u0007");
  } finally {
    configureLogStream({ format: "json", level: "info", write: (t) => process.stderr.write(t) });
    await manager.stop();
    await core.close();
  }
});
