/**
 * The channel router's decisions in one process, against a recording core: binding, allow list,
 * pairing, replays, approvals to the owner and who may answer them. (The same paths run through the
 * compiled core in telegram-channel.test.ts and tests/e2e/telegram.test.ts.)
 */
import { expect, test } from "bun:test";
import { ChannelRouter, type RouterCore, type TurnUpdate } from "../../../src/agent/channels/router.ts";
import { channelSettings } from "../../../src/config/channel-keys.ts";
import type { Approver, DecisionRecord } from "../../../src/core/confirmations.ts";
import type { AuditEntry } from "../../../src/core/response/audit-record.ts";
import type { ChannelDelivery } from "../../../src/plugins/sdk/types.ts";
import { tempHome } from "../../harness/core.ts";

function harness() {
  const audits: AuditEntry[] = [];
  const published: { group: string; topic: string; payload: unknown }[] = [];
  const sent: ChannelDelivery[] = [];
  const answers: { id: string; approve: boolean; approver: Approver; hash: string }[] = [];
  let decide: ((d: DecisionRecord) => void) | null = null;
  const core: RouterCore = {
    audit: async (e) => audits.push(e),
    publish: (identity, topic, payload) => published.push({ group: identity.group, topic, payload }),
    deliver: async (_channel, delivery) => {
      sent.push(delivery);
      return { message: String(sent.length) };
    },
    providerState: () => "healthy",
    showConfirmation: () => ({ arguments: '{"chat_id":"777","text":"hi"}' }),
    answerConfirmation: (id, approve, approver, hash) => {
      answers.push({ id, approve, approver, hash });
      return { ok: true, decision: approve ? "approved" : "denied", confirmation: {} as never };
    },
    onDecision: (listener) => {
      decide = listener;
      return () => {
        decide = null;
      };
    },
  };
  const channels = {
    telegram: channelSettings(
      {
        telegram: {
          enabled: true,
          chats: {
            "42": { group: "home" },
            "-1": { group: "family", allow: ["5"], unknown_sender: "ignore" },
            "-2": { group: "family", unknown_sender: "ask_owner" },
          },
        },
      },
      "telegram",
    ),
  };
  const router = new ChannelRouter({ home: tempHome(), channels, core, credentialStored: () => true });
  let eventId = 1;
  const inbound = (chat: string, type: string, sender: string, text: string, extra: Record<string, unknown> = {}) =>
    router.inbound("telegram", ["telegram"], {
      event_id: eventId++,
      chat: { id: chat, type },
      sender: { id: sender, name: `user ${sender}` },
      text,
      message_id: "9",
      attachments: [],
      ...extra,
    });
  const events = () => audits.map((a) => (a.detail as { event?: string }).event);
  return { router, audits, published, sent, answers, inbound, events, decide: (d: DecisionRecord) => decide?.(d) };
}

async function paired() {
  const h = harness();
  const { code } = h.router.pair("telegram");
  await h.inbound("42", "private", "42", `/pair ${code}`);
  return h;
}

test("a message goes to its chat's bound group; an unlisted sender, an unbound chat and a replay go nowhere", async () => {
  const h = harness();
  await h.inbound("-1", "group", "5", "hello");
  await h.inbound("-1", "group", "6", "let me in");
  await h.inbound("-9", "group", "5", "anyone?");
  expect(
    await h.router.inbound("telegram", ["telegram"], {
      event_id: 1,
      chat: { id: "-1" },
      sender: { id: "5" },
      text: "again",
    }),
  ).toEqual({ ok: true });
  expect(h.published).toEqual([
    {
      group: "family",
      topic: "message.inbound",
      payload: expect.objectContaining({ text: "hello", chat: "-1", sender: { id: "5", name: "user 5" } }),
    },
  ]);
  expect(h.events()).toEqual(["message routed", "unknown sender ignored", "chat not bound", "duplicate update"]);
  expect((await h.router.inbound("telegram", ["telegram"], { event_id: 99, chat: { id: "../x" } })).ok).toBe(false);
  expect((await h.router.inbound("slack", ["slack"], {})).ok).toBe(false);
});

test("pairing stores the owner; the owner's private messages are routed; unpair forgets them", async () => {
  const h = await paired();
  expect(h.router.status("telegram").owner).toMatchObject({ user: "42" });
  expect(h.sent[0]).toMatchObject({ kind: "text", chat: "42" });
  await h.inbound("42", "private", "42", "hi, it's me");
  expect(h.published.map((p) => p.group)).toEqual(["home"]);
  expect(h.router.unpair("telegram")).toEqual({ unpaired: true });
  expect(h.router.unpair("telegram")).toEqual({ unpaired: false });
  expect(h.router.names()).toEqual(["telegram"]);
});

test("/new marks the chat's next message as a new conversation; attachments are refused", async () => {
  const h = harness();
  await h.inbound("-1", "group", "5", "/new");
  await h.inbound("-1", "group", "5", "fresh question");
  await h.inbound("-1", "group", "5", "", { attachments: ["photo"] });
  expect(h.published[0]?.payload).toMatchObject({ text: "fresh question", new_conversation: true });
  expect(h.sent.map((s) => (s as { text: string }).text)).toEqual([
    "A new conversation starts with your next message.",
    "Attachments (photos, files, voice) are not accepted here; please send text.",
  ]);
});

test("a turn's approval goes to the owner's private chat; only the owner's press answers it, once; the answer goes back to the chat", async () => {
  const h = await paired();
  await h.inbound("-1", "group", "5", "send bob hi");
  const payload = h.published[0]?.payload as { reply_to: unknown };
  const watch = h.router.watcherFor(payload.reply_to) as (u: TurnUpdate) => void;
  expect(h.router.watcherFor({ route: "guess" })).toBeUndefined();
  watch({ kind: "state", state: "started" });
  watch({ kind: "confirmation", id: "c1", tool: "telegram.send", fields: [], request_hash: "ab".repeat(32) });
  await Bun.sleep(10);
  const ask = h.sent.find((s) => s.kind === "buttons") as Extract<ChannelDelivery, { kind: "buttons" }>;
  expect(ask.chat).toBe("42");
  expect(ask.text).toContain('{"chat_id":"777","text":"hi"}');
  const [approve, deny] = ask.buttons.map((b) => b.token);
  const press = (token: string, user: string) =>
    h.router.button("telegram", ["telegram"], { channel: "telegram", token, user: { id: user }, chat: "42" });
  expect(await press(approve as string, "5")).toEqual({ text: "Only the owner can answer this." });
  expect(h.answers).toEqual([]);
  expect(await press(approve as string, "42")).toEqual({ text: "Approved." });
  expect(h.answers).toEqual([
    { id: "c1", approve: true, approver: { channel: "telegram", user: "telegram:42" }, hash: "ab".repeat(32) },
  ]);
  expect(await press(deny as string, "42")).toEqual({ text: "This button is no longer valid." });
  h.decide({
    confirmation: { id: "c1" } as never,
    decision: "approved",
    approver: { channel: "telegram", user: "telegram:42" },
    waitedMs: 1,
  });
  watch({ kind: "done", ok: true, answer: "done" });
  await Bun.sleep(10);
  expect(h.sent.filter((s) => s.kind === "typing").length).toBeGreaterThan(0);
  expect(h.sent).toContainEqual({
    kind: "edit",
    chat: "42",
    message: expect.any(String),
    text: expect.stringContaining("approved by telegram:42"),
  });
  expect(h.sent.at(-1)).toMatchObject({ kind: "text", chat: "-1", text: "done", reply_to: "9" });
  h.router.close();
});

test("ask_owner holds an unknown sender's message for the owner: Ignore drops it, Answer it routes it", async () => {
  const h = await paired();
  await h.inbound("-2", "group", "6", "first");
  await h.inbound("-2", "group", "6", "second");
  const asks = h.sent.filter((s) => s.kind === "buttons") as Extract<ChannelDelivery, { kind: "buttons" }>[];
  expect(asks.map((a) => a.chat)).toEqual(["42", "42"]);
  const press = (token: string) =>
    h.router.button("telegram", ["telegram"], { channel: "telegram", token, user: { id: "42" } });
  expect(await press(asks[0]?.buttons[1]?.token as string)).toEqual({ text: "Ignored." });
  expect(await press(asks[1]?.buttons[0]?.token as string)).toEqual({ text: "The agent will answer it." });
  expect(h.published.map((p) => (p.payload as { text: string }).text)).toEqual(["second"]);
});

test("with nobody paired, ask_owner ignores and an approval is left to the CLI", async () => {
  const h = harness();
  await h.inbound("-2", "group", "6", "hello?");
  await h.inbound("-1", "group", "5", "go");
  const watch = h.router.watcherFor((h.published[0]?.payload as { reply_to: unknown } | undefined)?.reply_to) as (
    u: TurnUpdate,
  ) => void;
  watch({ kind: "confirmation", id: "c2", tool: "x.y", fields: [], request_hash: "cd".repeat(32) });
  watch({ kind: "done", ok: false, answer: "", error: "boom" });
  await Bun.sleep(10);
  expect(h.events()).toContain("approval not sent");
  expect(
    h.audits.find((a) => (a.detail as { event?: string }).event === "unknown sender ignored")?.detail,
  ).toMatchObject({
    reason: "no owner is paired to ask",
  });
  expect(h.sent.at(-1)).toMatchObject({
    kind: "text",
    chat: "-1",
    text: "Sorry, the agent could not answer this message.",
  });
});
