/** A temp home whose Telegram channel talks to a fake Bot API on loopback, with its bot token stored. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeCredential } from "../../../src/config/credentials.ts";
import { ensureHome } from "../../../src/config/home.ts";
import { FakeBotApi, type FakeChat, type FakeUser } from "../../fixtures/telegram/fake-bot-api.ts";
import { tempHome } from "../../harness/core.ts";

export const OWNER: FakeUser = { id: 42, first_name: "Olivia", username: "owner" };
export const FRIEND: FakeUser = { id: 555, first_name: "Frank" };
export const STRANGER: FakeUser = { id: 666, first_name: "Mallory" };
export const OWNER_CHAT: FakeChat = { id: 42, type: "private" };
export const FAMILY_CHAT: FakeChat = { id: -1001, type: "group", title: "Family" };
export const OPEN_CHAT: FakeChat = { id: -1002, type: "group", title: "Open house" };
export const ASK_CHAT: FakeChat = { id: -1003, type: "group", title: "Ask first" };

/** The chats bound in config.toml: the owner's private chat and three group chats with different policies. */
export function telegramConfig(apiBase: string, extra = ""): string {
  return `[channels.telegram]
enabled = true
api_base = "${apiBase}"
poll_timeout_s = 1

[channels.telegram.chats."42"]
group = "home"

[channels.telegram.chats."-1001"]
group = "family"
allow = ["555"]
unknown_sender = "ignore"

[channels.telegram.chats."-1002"]
group = "family"
unknown_sender = "allow"

[channels.telegram.chats."-1003"]
group = "family"
allow = ["555"]
unknown_sender = "ask_owner"
${extra}`;
}

export function telegramHome(
  options: { home?: string; keepConfirmed?: boolean; extraConfig?: string; prefix?: string } = {},
) {
  const fake = new FakeBotApi(undefined, options.keepConfirmed === true).start();
  const home = options.home ?? tempHome();
  ensureHome(home);
  writeFileSync(join(home, "config.toml"), `${options.prefix ?? ""}${telegramConfig(fake.url, options.extraConfig)}`, {
    mode: 0o600,
  });
  writeCredential(home, "telegram_bot_token", fake.token);
  return { home, fake };
}
