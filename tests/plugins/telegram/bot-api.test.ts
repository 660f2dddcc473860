import { afterAll, expect, test } from "bun:test";
import { BotApi, BotApiError } from "../../../plugins/telegram/bot-api.ts";
import { backoffMs } from "../../../plugins/telegram/handler.ts";
import { FakeBotApi } from "../../fixtures/telegram/fake-bot-api.ts";

const fake = new FakeBotApi().start();
afterAll(() => fake.close());

async function failure(api: BotApi, timeoutMs = 5_000): Promise<BotApiError> {
  try {
    await api.call("sendMessage", { chat_id: 1, text: "x" }, timeoutMs);
  } catch (error) {
    return error as BotApiError;
  }
  throw new Error("no failure");
}

test("each failure has its kind; no error names the URL or the token", async () => {
  const api = new BotApi({ apiBase: fake.url, token: fake.token });
  fake.fail(
    "sendMessage",
    { kind: "rate_limited", retry_after: 7 },
    { kind: "status", status: 503 },
    { kind: "malformed" },
    { kind: "hang", ms: 1_500 },
  );
  const limited = await failure(api);
  expect(limited).toMatchObject({ kind: "rate_limited", retryAfterS: 7 });
  expect((await failure(api)).kind).toBe("unavailable");
  expect((await failure(api)).kind).toBe("malformed");
  expect((await failure(api, 300)).kind).toBe("timeout");
  const wrong = await failure(new BotApi({ apiBase: fake.url, token: "1:wrong-token-value" }));
  expect(wrong.kind).toBe("refused");
  const nobody = await failure(new BotApi({ apiBase: "http://127.0.0.1:9", token: fake.token }));
  expect(nobody.kind).toBe("unavailable");
  for (const e of [limited, wrong, nobody]) {
    expect(e.message).not.toContain(fake.token);
    expect(e.message).not.toContain("127.0.0.1");
  }
  expect(await api.call("sendMessage", { chat_id: 1, text: "ok" }, 5_000)).toMatchObject({ text: "ok" });
});

test("backoff doubles to a cap, and a 429 waits what Telegram asked (capped)", () => {
  const plain = new BotApiError("unavailable", "getUpdates", 502, "");
  expect([1, 2, 3, 4, 10].map((n) => backoffMs(plain, n))).toEqual([500, 1000, 2000, 4000, 15000]);
  expect(backoffMs(new BotApiError("rate_limited", "getUpdates", 429, "", 3), 1)).toBe(3000);
  expect(backoffMs(new BotApiError("rate_limited", "getUpdates", 429, "", 3600), 1)).toBe(60_000);
});
