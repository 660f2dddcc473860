/**
 * The Telegram channel when the Bot API misbehaves (429 with retry_after, 5xx, malformed JSON, no
 * answer in time), through the compiled core and the fake Bot API: it backs off and asks again from
 * the same offset, loses no inbound message and sends no answer twice.
 */
import { afterEach, expect, test } from "bun:test";
import type { FakeBotApi } from "../../fixtures/telegram/fake-bot-api.ts";
import { type RunningCore, startCore } from "../../harness/core.ts";
import { FAMILY_CHAT, FRIEND, telegramHome } from "./telegram-home.ts";

let running: { core: RunningCore; fake: FakeBotApi } | null = null;

afterEach(async () => {
  await running?.core.stop();
  await running?.fake.close();
  running = null;
});

test("faults on getUpdates and sendMessage: every message is taken once and answered once", async () => {
  const { home, fake } = telegramHome();
  fake.fail(
    "getUpdates",
    { kind: "rate_limited", retry_after: 1 },
    { kind: "status", status: 502 },
    { kind: "malformed" },
    // Longer than the client waits for a long poll (poll_timeout_s 1 + 10 s): a timeout.
    { kind: "hang", ms: 12_000 },
  );
  // The first answer meets a 5xx and a 429 (Telegram did not take it: sent again); the second a
  // timeout (it may have been taken: never sent again).
  fake.fail("sendMessage", { kind: "status", status: 500 }, { kind: "rate_limited", retry_after: 1 });
  fake.pushMessage(FAMILY_CHAT, FRIEND, "first");
  const core = await startCore({ home });
  running = { core, fake };
  await fake.waitFor("the first answer", () => fake.sent.find((m) => m.chat_id === "-1001"), 60_000);
  fake.fail("sendMessage", { kind: "hang", ms: 21_000 });
  fake.pushMessage(FAMILY_CHAT, FRIEND, "second");
  await fake.waitFor("the second answer", () => fake.sent.filter((m) => m.chat_id === "-1001")[1], 60_000);
  fake.pushMessage(FAMILY_CHAT, FRIEND, "third");
  await fake.waitFor("the third answer", () => fake.sent.filter((m) => m.chat_id === "-1001")[2], 60_000);
  await Bun.sleep(2_000);

  const polls = fake.calls.filter((c) => c.method === "getUpdates");
  expect(polls.slice(0, 5).map((c) => c.answered)).toEqual(["rate_limited", "status", "malformed", "hang", "ok"]);
  // Every retry asked from the same offset: nothing skipped.
  expect(new Set(polls.slice(0, 5).map((c) => Number(c.params.offset ?? 0))).size).toBe(1);
  const routed = core.audit("family").filter((r) => (r.detail as { event?: string })?.event === "message routed");
  expect(routed.length).toBe(3);
  const sends = fake.calls.filter((c) => c.method === "sendMessage").map((c) => c.answered);
  expect(sends).toEqual(["status", "rate_limited", "ok", "hang", "ok"]);
  expect(fake.sent.filter((m) => m.chat_id === "-1001").length).toBe(3);
  const status = await core.carapace(["channel", "status", "telegram", "--json"]);
  expect(status.json?.plugin).toBe("healthy");
}, 180_000);
