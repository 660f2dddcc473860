/**
 * The Telegram handler in this process against the fake Bot API, with recorded CoreServices: it polls
 * with an offset it keeps, hands messages and button presses to the core, and sends what is delivered.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TelegramChannel } from "../../../plugins/telegram/handler.ts";
import type { ButtonPress, CoreServices } from "../../../src/plugins/sdk/types.ts";
import { FakeBotApi } from "../../fixtures/telegram/fake-bot-api.ts";

const fake = new FakeBotApi().start();
afterAll(() => fake.close());

function services(token: string | null) {
  const dir = mkdtempSync(join(tmpdir(), "tg-handler-"));
  const published: unknown[] = [];
  const presses: ButtonPress[] = [];
  const logs: string[] = [];
  const s: CoreServices = {
    getAuditLog: async () => [],
    getToolCatalog: () => [],
    getSessionInfo: () => null,
    readCredential: async () => token,
    publishEvent: async (_topic, payload) => {
      published.push(payload);
    },
    answerButton: async (press) => {
      presses.push(press);
      return { text: "Approved." };
    },
    dataDir: () => dir,
    config: () => ({ api_base: fake.url, poll_timeout_s: 1 }),
    log: (_level, message) => logs.push(message),
  };
  return { s, dir, published, presses, logs };
}

test("polls, hands over messages and presses, keeps its offset, and sends every kind of delivery", async () => {
  const h = services(fake.token);
  const channel = new TelegramChannel();
  await channel.initialize(h.s);
  const id = fake.pushMessage({ id: -1, type: "group", title: "G" }, { id: 5, first_name: "Frank" }, "hello", {
    photo: [{}],
  });
  await fake.waitFor("the message", () => h.published.length === 1);
  expect(h.published[0]).toMatchObject({
    event_id: id,
    chat: { id: "-1", type: "group", title: "G" },
    sender: { id: "5", name: "Frank" },
    text: "hello",
    attachments: ["photo"],
  });
  const buttons = await channel.deliver({
    kind: "buttons",
    chat: "42",
    text: "ok?",
    buttons: [{ label: "Approve", token: "t1" }],
  });
  const shown = fake.sent.at(-1);
  expect(shown?.buttons).toEqual([{ text: "Approve", callback_data: "t1" }]);
  fake.press(shown as never, "Approve", { id: 42, first_name: "Olivia" });
  await fake.waitFor("the answer to the press", () => fake.callbackAnswers[0]);
  expect(h.presses[0]).toEqual({ channel: "telegram", token: "t1", user: { id: "42", name: "Olivia" }, chat: "42" });
  expect(fake.callbackAnswers[0]?.text).toBe("Approved.");
  await channel.deliver({ kind: "edit", chat: "42", message: String(buttons?.message), text: "decided" });
  await channel.deliver({ kind: "typing", chat: "-1" });
  await channel.deliver({ kind: "text", chat: "-1", text: "x ".repeat(3000), reply_to: "3" });
  expect(fake.edits.at(-1)).toMatchObject({ chat_id: "42", text: "decided" });
  expect(fake.actions.at(-1)).toEqual({ chat_id: "-1", action: "typing" });
  expect(fake.sent.filter((m) => m.chat_id === "-1").length).toBe(2);
  expect(
    await channel.handleToolInvocation("telegram.send", { chat_id: "777", text: "hi" }, {} as never),
  ).toMatchObject({ sent: true, chat_id: "777" });
  await expect(Promise.resolve(channel.handleToolInvocation("telegram.other", {}, {} as never))).rejects.toMatchObject({
    code: "UNSUPPORTED_TOOL",
  });
  fake.fail("sendMessage", { kind: "status", status: 400 });
  await expect(channel.deliver({ kind: "text", chat: "-1", text: "refused" })).rejects.toMatchObject({
    code: "TELEGRAM_FAILED",
  });
  await channel.shutdown();
  expect(JSON.parse(readFileSync(join(h.dir, "offset.json"), "utf8")).offset).toBeGreaterThan(id);
});

test("without a stored token it says how to store one and does not poll", async () => {
  const h = services(null);
  const channel = new TelegramChannel();
  const before = fake.calls.length;
  await channel.initialize(h.s);
  expect(h.logs.join("\n")).toContain("carapace channel token telegram");
  await expect(channel.deliver({ kind: "text", chat: "1", text: "x" })).rejects.toMatchObject({ code: "NO_TOKEN" });
  await channel.shutdown();
  expect(fake.calls.length).toBe(before);
});
