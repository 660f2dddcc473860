/**
 * Scheduled tasks end to end: the compiled core, real Podman, real Claude Code and the scripted model,
 * with `carapace events --follow --json` running beside it as a real external consumer of the feed.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeCredential } from "../../src/config/credentials.ts";
import type { Envelope } from "../../src/protocol/envelope.ts";
import { EVENT_TOPICS } from "../../src/protocol/topics.ts";
import { installPlugin } from "../fixtures/plugins/install.ts";
import { FakeBotApi } from "../fixtures/telegram/fake-bot-api.ts";
import { agentHome, agentSkipReason } from "../harness/agent-env.ts";
import { ensureBinaries } from "../harness/binaries.ts";
import { type RunningCore, startCore } from "../harness/core.ts";

const bash = (command: string) => ({
  tool_use: { name: "Bash", input: { command, description: "run a Carapace tool" } },
});

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, ms = 180_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(200);
  }
}

/** `carapace events --follow --json` as a separate process; its lines are collected as they arrive. */
function follow(core: RunningCore) {
  const proc = Bun.spawn([ensureBinaries().carapace, "events", "--follow", "--json"], {
    env: core.env,
    stdout: "pipe",
    stderr: "pipe",
  });
  const lines: string[] = [];
  void (async () => {
    let buffered = "";
    const decoder = new TextDecoder();
    for await (const chunk of proc.stdout as ReadableStream<Uint8Array>) {
      buffered += decoder.decode(chunk, { stream: true });
      const parts = buffered.split("\n");
      buffered = parts.pop() ?? "";
      lines.push(...parts);
    }
  })();
  const events = () => lines.map((l) => JSON.parse(l) as Envelope<Record<string, unknown>>);
  const seen = (topic: string, pred: (e: Envelope<Record<string, unknown>>) => boolean = () => true) =>
    events().find((e) => e.topic === topic && pred(e));
  return { proc, events, seen };
}

type Run = { run: number; outcome: string; trigger: string; answer?: string; delivered_to?: string };

describe.skipIf(agentSkipReason !== null)("scheduled tasks (real Podman, real Claude Code, scripted model)", () => {
  test("a task due seconds ahead runs a session and delivers its answer to the log only; an agent's schedule waits for approval; the feed sees every documented topic", async () => {
    const bot = new FakeBotApi().start();
    const { home, model } = await agentHome(
      [],
      `[channels.telegram]\nenabled = true\napi_base = "${bot.url}"\npoll_timeout_s = 1\n` +
        `[channels.telegram.chats."42"]\ngroup = "home"\n[channels.telegram.chats."-1001"]\ngroup = "family"\n`,
    );
    writeCredential(home, "telegram_bot_token", bot.token);
    installPlugin(home, "services-probe");
    const core = await startCore({ home, args: ["--watch"] });
    const feed = follow(core);
    try {
      // The subscription takes effect once connected: open sessions until the feed shows one.
      await until("the feed to connect", async () => {
        const s = await core.openSession("lobby");
        await core.closeSession(s.id);
        return feed.seen("session.closed", (e) => e.session === s.id);
      });

      // A plugin reloaded by --watch announces itself; a plugin publishes a message for a group.
      const handler = join(home, "plugins/services-probe/handler.ts");
      writeFileSync(handler, `${readFileSync(handler, "utf8")}\n// edited\n`);
      await until(
        "plugin.ready",
        () => feed.seen("plugin.ready", (e) => e.payload.plugin === "services-probe"),
        30_000,
      );
      expect(
        (await core.carapace(["call", "services_probe.publish", '{"text":"hello"}', "--group", "lobby"])).code,
      ).toBe(0);
      await until("message.inbound", () => feed.seen("message.inbound", (e) => e.group === "lobby"), 30_000);

      // A one-shot a few seconds ahead (room for a slow `task add`: a time already past is refused).
      model.script([{ text: "Good morning: three meetings today." }]);
      const at = new Date(Date.now() + 15_000).toISOString();
      const added = await core.carapace([
        "task",
        "add",
        "Write the morning brief",
        "--at",
        at,
        "--group",
        "brief",
        "--json",
      ]);
      expect(added.code).toBe(0);
      const task = JSON.parse(added.stdout) as { id: string };
      const runs = await until("the task's run to finish", async () => {
        const r = JSON.parse((await core.carapace(["task", "runs", task.id, "--json"])).stdout) as Run[];
        return r[0] && r[0].outcome !== "running" ? r : undefined;
      });
      expect(runs).toHaveLength(1);
      expect(runs[0]).toMatchObject({
        trigger: "schedule",
        outcome: "ok",
        answer: "Good morning: three meetings today.",
        delivered_to: "log",
      });
      await until("the answer in the core's log", () =>
        core.messages().includes(`task ${task.id} run ${runs[0]?.run} answered: Good morning: three meetings today.`)
          ? true
          : undefined,
      );
      const triggered = feed.seen("task.triggered", (e) => (e.payload.schedule as { task?: string })?.task === task.id);
      expect(triggered?.payload).toMatchObject({
        origin: "schedule",
        group: "brief",
        prompt: "Write the morning brief",
      });
      // No reply_to: no channel plugin answers anybody with it.
      const completed = feed.seen("agent.completed", (e) => e.payload.task === triggered?.payload.id);
      expect(completed?.payload).toMatchObject({ answer: "Good morning: three meetings today.", reply_to: null });
      expect((await core.carapace(["task", "show", task.id, "--json"])).stdout).toContain('"status": "done"');

      // A task whose answer goes to a chat bound to its group: to that chat, and to no other.
      model.script([{ text: "Bins go out tonight." }]);
      const toChat = await core.carapace([
        "task",
        "add",
        "What is on tonight?",
        "--at",
        new Date(Date.now() + 15_000).toISOString(),
        "--group",
        "home",
        "--deliver",
        "telegram:42",
        "--json",
      ]);
      expect(toChat.code).toBe(0);
      const chatTask = JSON.parse(toChat.stdout) as { id: string };
      await bot.waitFor(
        "the answer in chat 42",
        () => bot.sent.find((m) => m.text.includes("Bins go out tonight.")),
        180_000,
      );
      expect(bot.sent.filter((m) => m.text.includes("Bins go out tonight.")).map((m) => m.chat_id)).toEqual(["42"]);
      const chatRuns = await until("the chat task's run to be recorded", async () => {
        const r = JSON.parse((await core.carapace(["task", "runs", chatTask.id, "--json"])).stdout) as Run[];
        return r[0]?.delivered_to ? r : undefined;
      });
      expect(chatRuns[0]).toMatchObject({ outcome: "ok", delivered_to: "telegram:42" });
      expect(core.messages()).not.toContain("answered: Bins go out tonight.");
      const otherGroup = await core.carapace([
        "task",
        "add",
        "p",
        "--every",
        "1h",
        "--group",
        "home",
        "--deliver",
        "telegram:-1001",
      ]);
      expect(otherGroup.code).toBe(1);
      expect(otherGroup.stderr).toContain("telegram:-1001 is bound to group family, not home");

      // An agent schedules a task: its call waits for the owner, and the task says an agent made it.
      model.script([
        bash(`ipc task.create '{"prompt":"Remind me to stretch","every":"2h"}'`),
        { respond: (req) => ({ text: JSON.stringify(req).includes("created_by") ? "Scheduled." : "Not scheduled." }) },
      ]);
      const prompt = core.carapace(["prompt", "Remind me every two hours to stretch", "--group", "brief"]);
      const pending = await until("task.create to wait for approval", async () => {
        const list = JSON.parse((await core.carapace(["approvals", "--json"])).stdout || "[]") as {
          id: string;
          tool: string;
        }[];
        return list.find((p) => p.tool === "task.create");
      });
      const before = JSON.parse(
        (await core.carapace(["task", "list", "--group", "brief", "--json"])).stdout,
      ) as unknown[];
      expect(before).toHaveLength(1);
      expect((await core.carapace(["approve", pending.id])).code).toBe(0);
      const answered = await prompt;
      expect(answered.code).toBe(0);
      expect(answered.stdout).toContain("Scheduled.");
      const listed = await core.carapace(["task", "list", "--group", "brief"]);
      expect(listed.stdout).toMatch(/active {2}every 2h .* by agent \(session [0-9a-f]{8}\) {2}"Remind me to stretch"/);
      expect(core.audit("brief").find((a) => a.topic === "task.created" && a.session !== null)).toMatchObject({
        detail: { created_by: "agent", schedule: "every 2h" },
      });

      // A session whose model fails: agent.error (and Claude Code's own error result).
      const fail = { error: { status: 400, message: "scripted refusal" } };
      model.script([fail, fail, fail, fail, fail, fail]);
      expect((await core.carapace(["prompt", "This one fails", "--group", "broke"])).code).toBe(1);
      await until("agent.error", () => feed.seen("agent.error", (e) => e.group === "broke"), 30_000);
    } finally {
      await core.stop();
      await model.close();
      await bot.close();
    }
    // The core stopped: plugins said so, the follower was told and ended.
    expect(await feed.proc.exited).toBe(3);
    const topics = new Set(feed.events().map((e) => e.topic));
    expect(EVENT_TOPICS.filter((t) => !topics.has(t))).toEqual([]);
  }, 600_000);
});
