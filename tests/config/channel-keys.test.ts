import { expect, test } from "bun:test";
import { channelSettings } from "../../src/config/channel-keys.ts";
import { parseConfigText } from "../../src/config/load.ts";

const parse = (text: string) => parseConfigText(text, "config.toml");

test("[channels.<name>] with bound chats parses; defaults fill what is not written", () => {
  const user = parse(
    `[channels.telegram]\nenabled = true\n[channels.telegram.chats."-100123"]\ngroup = "family"\nallow = ["5"]\n`,
  );
  const s = channelSettings(user.channels, "telegram");
  expect(s).toMatchObject({ enabled: true, api_base: "", attachments: false, poll_timeout_s: 25 });
  expect(s.chats["-100123"]).toEqual({ group: "family", allow: ["5"], unknown_sender: "ignore" });
  expect(channelSettings(user.channels, "slack").enabled).toBe(false);
});

test("a chat without a group, a bad policy or an unknown key is refused, naming the key", () => {
  expect(() => parse(`[channels.telegram.chats."1"]\nallow = ["5"]\n`)).toThrow();
  expect(() => parse(`[channels.telegram.chats."1"]\ngroup = "g"\nunknown_sender = "maybe"\n`)).toThrow(
    /unknown_sender/,
  );
  expect(() => parse(`[channels.telegram]\ntoken = "123:abc"\n`)).toThrow(
    /enabled, api_base, attachments, poll_timeout_s, chats/,
  );
  expect(() => parse(`[channels.telegram.chats."1"]\ngroup = "Not A Group"\n`)).toThrow(/group/);
});
