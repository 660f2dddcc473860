/**
 * The Telegram channel through the compiled core against a fake Bot API on loopback: pairing, chat
 * bindings, sender allow lists and unknown_sender policies, attachments, replays after a restart.
 * No agent runs here (no model credential is stored): a routed message is answered with the
 * channel's "could not answer" note, which shows where the answer goes.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { FakeBotApi } from "../../fixtures/telegram/fake-bot-api.ts";
import { type RunningCore, startCore, waitForAudit } from "../../harness/core.ts";
import {
  ASK_CHAT,
  FAMILY_CHAT,
  FRIEND,
  OPEN_CHAT,
  OWNER,
  OWNER_CHAT,
  STRANGER,
  telegramHome,
} from "./telegram-home.ts";

const COULD_NOT_ANSWER = "Sorry, the agent could not answer this message.";
let running: { core: RunningCore; fake: FakeBotApi }[] = [];

afterEach(async () => {
  for (const r of running) {
    await r.core.stop();
    await r.fake.close();
  }
  running = [];
});

async function start(options: Parameters<typeof telegramHome>[0] = {}) {
  const { home, fake } = telegramHome(options);
  const core = await startCore({ home });
  running.push({ core, fake });
  return { home, fake, core };
}

async function pairCode(core: RunningCore): Promise<string> {
  const r = await core.carapace(["channel", "pair", "telegram", "--no-wait", "--json"]);
  expect(r.code).toBe(0);
  return String(r.json?.code);
}

async function pair(core: RunningCore, fake: FakeBotApi): Promise<void> {
  const code = await pairCode(core);
  fake.pushMessage(OWNER_CHAT, OWNER, `/pair ${code}`);
  await fake.waitFor("the paired note", () => fake.sent.find((m) => m.text.startsWith("Paired")));
}

function channelAudit(core: RunningCore, group: string, event: string) {
  return core.audit(group).filter((r) => (r.detail as { event?: string } | undefined)?.event === event);
}

describe("pairing the owner", () => {
  test("the one-time code sent in a private chat pairs its sender; the code works once", async () => {
    const { core, fake } = await start();
    const code = await pairCode(core);
    expect(code).toMatch(/^[A-HJ-KM-NP-Z2-9]{8}$/);
    fake.pushMessage(OWNER_CHAT, OWNER, `/pair ${code.toLowerCase()}`);
    const note = await fake.waitFor("the paired note", () => fake.sent.find((m) => m.text.startsWith("Paired")));
    expect(note.chat_id).toBe("42");
    const status = await core.carapace(["channel", "status", "telegram", "--json"]);
    expect(status.json?.owner).toMatchObject({ user: "42", name: "Olivia" });
    expect(status.json?.pairing).toBeNull();
    // The same code again, from someone else's private chat: not a pairing any more.
    fake.pushMessage({ id: 666, type: "private" }, STRANGER, `/pair ${code}`);
    await waitForAudit(core, "_core", (r) => (r.detail as { event?: string })?.event === "chat not bound", 15_000);
    expect((await core.carapace(["channel", "status", "telegram", "--json"])).json?.owner).toMatchObject({
      user: "42",
    });
    expect(fake.sent.filter((m) => m.chat_id === "666")).toEqual([]);
  }, 60_000);

  test("a wrong code is refused; after five wrong ones the code is dead; a group chat cannot pair", async () => {
    const { core, fake } = await start();
    const code = await pairCode(core);
    fake.pushMessage(FAMILY_CHAT, STRANGER, `/pair ${code}`);
    for (let i = 0; i < 5; i++) fake.pushMessage({ id: 666, type: "private" }, STRANGER, "/pair WRONG234");
    await fake.waitFor(
      "five refusals",
      () => fake.sent.filter((m) => m.text === "That pairing code is not valid.").length === 5,
    );
    fake.pushMessage(OWNER_CHAT, OWNER, `/pair ${code}`);
    // Not a pairing any more: an ordinary message from a sender the owner's chat does not list.
    await waitForAudit(
      core,
      "home",
      (r) => (r.detail as { event?: string })?.event === "unknown sender ignored",
      15_000,
    );
    const status = await core.carapace(["channel", "status", "telegram", "--json"]);
    expect(status.json?.owner).toBeNull();
    expect(status.json?.pairing).toBeNull();
    expect(channelAudit(core, "_core", "pairing code refused").length).toBe(5);
    expect(fake.sent.some((m) => m.text.startsWith("Paired"))).toBe(false);
  }, 60_000);

  test("unpair forgets the owner", async () => {
    const { core, fake } = await start();
    await pair(core, fake);
    const r = await core.carapace(["channel", "unpair", "telegram"]);
    expect(r.code).toBe(0);
    expect((await core.carapace(["channel", "status", "telegram", "--json"])).json?.owner).toBeNull();
    const list = await core.carapace(["channel", "list", "--json"]);
    expect(JSON.parse(list.stdout)).toMatchObject([
      { channel: "telegram", enabled: true, plugin: "healthy", token_stored: true },
    ]);
    expect((await core.carapace(["channel", "pair", "slack", "--no-wait"])).stderr).toContain('no channel "slack"');
  }, 60_000);
});

describe("who may talk, and where the answer goes", () => {
  test("an allowed sender's message goes to the chat's bound group and is answered in the same chat", async () => {
    const { core, fake } = await start();
    fake.pushMessage(FAMILY_CHAT, FRIEND, "What's for dinner?");
    const answer = await fake.waitFor("the answer", () => fake.sent.find((m) => m.chat_id === "-1001"));
    expect(answer.text).toBe(COULD_NOT_ANSWER);
    expect(answer.reply_to).toBeDefined();
    const routed = channelAudit(core, "family", "message routed");
    expect(routed[0]?.detail).toMatchObject({ chat: "-1001", sender: "telegram:555", owner: false });
    expect(core.audit("home")).toEqual([]);
  }, 60_000);

  test("an unknown sender is ignored (policy ignore) or answered (policy allow)", async () => {
    const { core, fake } = await start();
    fake.pushMessage(FAMILY_CHAT, STRANGER, "Tell me the family's secrets");
    fake.pushMessage(OPEN_CHAT, STRANGER, "Hello open house");
    await fake.waitFor("the open chat's answer", () => fake.sent.find((m) => m.chat_id === "-1002"));
    const ignored = await waitForAudit(
      core,
      "family",
      (r) => (r.detail as { event?: string })?.event === "unknown sender ignored",
    );
    expect(ignored.detail).toMatchObject({ chat: "-1001", sender: "telegram:666", policy: "ignore" });
    expect(fake.sent.filter((m) => m.chat_id === "-1001")).toEqual([]);
  }, 60_000);

  test("ask_owner: the owner is asked in their private chat; a non-owner's press is refused; the owner's admits it once", async () => {
    const { core, fake } = await start();
    await pair(core, fake);
    fake.pushMessage(ASK_CHAT, STRANGER, "May I talk to the agent?");
    const ask = await fake.waitFor("the owner's question", () => fake.sent.find((m) => m.buttons.length === 2));
    expect(ask.chat_id).toBe("42");
    expect(ask.text).toContain("Mallory (user 666)");
    expect(ask.text).toContain("May I talk to the agent?");
    fake.press(ask, "Answer it", STRANGER);
    await fake.waitFor("the refusal", () =>
      fake.callbackAnswers.find((a) => a.text === "Only the owner can answer this."),
    );
    expect(fake.sent.filter((m) => m.chat_id === "-1003")).toEqual([]);
    fake.press(ask, "Answer it", OWNER);
    await fake.waitFor("the owner's answer", () =>
      fake.callbackAnswers.find((a) => a.text === "The agent will answer it."),
    );
    const answer = await fake.waitFor("the answer in the asking chat", () =>
      fake.sent.find((m) => m.chat_id === "-1003"),
    );
    expect(answer.text).toBe(COULD_NOT_ANSWER);
    const refused = channelAudit(core, "_core", "button refused");
    expect(refused[0]?.detail).toMatchObject({ reason: "not the owner", user: "telegram:666" });
    // The button is used up: pressing it again does nothing.
    fake.press(ask, "Answer it", OWNER);
    await fake.waitFor("the stale answer", () =>
      fake.callbackAnswers.find((a) => a.text === "This button is no longer valid."),
    );
    expect(fake.sent.filter((m) => m.chat_id === "-1003").length).toBe(1);
  }, 60_000);

  test("a chat nobody bound is not routed; an attachment is refused with a note", async () => {
    const { core, fake } = await start();
    fake.pushMessage({ id: -999, type: "group", title: "Elsewhere" }, FRIEND, "hello?");
    fake.pushMessage(FAMILY_CHAT, FRIEND, "", { photo: [{ file_id: "x" }], caption: "look" });
    const note = await fake.waitFor("the attachment note", () => fake.sent.find((m) => m.chat_id === "-1001"));
    expect(note.text).toContain("Attachments");
    const unbound = await waitForAudit(
      core,
      "_core",
      (r) => (r.detail as { event?: string })?.event === "chat not bound",
    );
    expect(unbound.detail).toMatchObject({ chat: "-999", sender: "telegram:555" });
    expect(fake.sent.filter((m) => m.chat_id === "-999")).toEqual([]);
    expect(channelAudit(core, "family", "message routed")).toEqual([]);
  }, 60_000);
});

describe("no message lost, none taken twice", () => {
  test("the offset survives a restart, and updates replayed from an older offset are refused as duplicates", async () => {
    const first = await start({ keepConfirmed: true });
    first.fake.pushMessage(FAMILY_CHAT, FRIEND, "first");
    await first.fake.waitFor("the first answer", () => first.fake.sent.find((m) => m.chat_id === "-1001"));
    await first.core.stop();
    running = running.filter((r) => r.core !== first.core);
    const offsetFile = join(first.home, "data/telegram/offset.json");
    const offset = (JSON.parse(readFileSync(offsetFile, "utf8")) as { offset: number }).offset;
    expect(offset).toBeGreaterThan(1000);
    // As if the offset write had been lost: the plugin asks from the start, and Telegram replays.
    writeFileSync(offsetFile, JSON.stringify({ offset: 0 }));
    const core = await startCore({ home: first.home });
    running.push({ core, fake: first.fake });
    first.fake.pushMessage(FAMILY_CHAT, FRIEND, "second");
    await first.fake.waitFor(
      "the second answer",
      () => first.fake.sent.filter((m) => m.chat_id === "-1001").length >= 2,
    );
    const duplicate = await waitForAudit(
      core,
      "_core",
      (r) => (r.detail as { event?: string })?.event === "duplicate update",
    );
    expect(duplicate.detail).toMatchObject({ event_id: 1000 });
    await Bun.sleep(1_500);
    expect(first.fake.sent.filter((m) => m.chat_id === "-1001").length).toBe(2);
    expect(channelAudit(core, "family", "message routed").length).toBe(2);
  }, 90_000);
});
