/**
 * The [channels.<name>] tables of config.toml: whether a channel runs, where its service's API is,
 * and which chat is bound to which group ([channels.<name>.chats."<chat id>"]). The binding is host
 * configuration: a channel plugin reports the chat a message came from, never the group.
 */
import { GROUP_NAME_HINT, GROUP_NAME_PATTERN } from "../protocol/group-name.ts";

/** The key specs of keys.ts (KeySpec), kept apart so keys.ts can name UserChannelConfig without a cycle. */
type Spec = { kind: string; default: unknown; description: string };

export const CHANNEL_NAME_PATTERN = "^[a-z][a-z0-9_-]{0,31}$";
/** A chat's or a user's id as the chat service spells it (Telegram: a signed integer). */
export const CHAT_ID_PATTERN = "^-?[0-9A-Za-z_.@:]{1,64}$";
export const UNKNOWN_SENDER_POLICIES = ["ignore", "ask_owner", "allow"] as const;
export type UnknownSenderPolicy = (typeof UNKNOWN_SENDER_POLICIES)[number];

export const CHANNEL_KEYS = {
  enabled: { kind: "boolean", default: false, description: "run this channel's plugin" },
  api_base: {
    kind: "string",
    default: "",
    description: "the chat service's API address; empty: the service's public one (tests point it at a loopback fake)",
    pattern: "^(https?://[^\\s?#]+)?$",
    patternHint: "an http:// or https:// URL without query, or empty",
  },
  attachments: {
    kind: "boolean",
    default: false,
    description: "accept photos, files and voice messages (refused with a note when false)",
  },
  poll_timeout_s: {
    kind: "integer",
    default: 25,
    minimum: 1,
    maximum: 50,
    description: "how long one long-poll request waits for new messages",
  },
} as const;

export const CHAT_KEYS = {
  group: {
    kind: "string",
    default: "",
    description: "the group this chat's messages go to",
    pattern: GROUP_NAME_PATTERN,
    patternHint: GROUP_NAME_HINT,
  },
  allow: {
    kind: "string-list",
    default: [],
    description: "user ids allowed to talk to the agent in this chat (the paired owner always is)",
    itemPattern: CHAT_ID_PATTERN,
    itemPatternHint: "a user id",
    maxItems: 256,
  },
  unknown_sender: {
    kind: "enum",
    values: UNKNOWN_SENDER_POLICIES,
    default: "ignore",
    description: "a sender not on the allow list: ignore, ask the owner, or allow",
  },
} as const;

export interface ChatBinding {
  group: string;
  allow: string[];
  unknown_sender: UnknownSenderPolicy;
}

export interface ChannelConfig {
  enabled: boolean;
  api_base: string;
  attachments: boolean;
  poll_timeout_s: number;
  chats: Record<string, ChatBinding>;
}

export type UserChannelConfig = Partial<Omit<ChannelConfig, "chats">> & {
  chats?: Record<string, Partial<ChatBinding> & { group: string }>;
};

/** A channel's settings with every default filled in. */
export function channelSettings(channels: Record<string, UserChannelConfig> | undefined, name: string): ChannelConfig {
  const own = channels?.[name] ?? {};
  const chats: Record<string, ChatBinding> = {};
  for (const [chat, binding] of Object.entries(own.chats ?? {})) {
    chats[chat] = {
      group: binding.group,
      allow: [...(binding.allow ?? [])],
      unknown_sender: binding.unknown_sender ?? CHAT_KEYS.unknown_sender.default,
    };
  }
  return {
    enabled: own.enabled ?? CHANNEL_KEYS.enabled.default,
    api_base: own.api_base ?? CHANNEL_KEYS.api_base.default,
    attachments: own.attachments ?? CHANNEL_KEYS.attachments.default,
    poll_timeout_s: own.poll_timeout_s ?? CHANNEL_KEYS.poll_timeout_s.default,
    chats,
  };
}

/** The spec of a key under [channels]: ["channels","telegram","api_base"], [..., "chats", "<id>", "group"]. */
export function channelSpecAt(path: readonly string[]): Spec | undefined {
  if (path[0] !== "channels") return undefined;
  if (path.length === 3) return (CHANNEL_KEYS as Record<string, Spec>)[path[2] as string];
  if (path.length === 5 && path[3] === "chats") return (CHAT_KEYS as Record<string, Spec>)[path[4] as string];
  return undefined;
}

export function channelKeysAt(path: readonly string[]): readonly string[] | undefined {
  if (path[0] !== "channels") return undefined;
  if (path.length === 2) return [...Object.keys(CHANNEL_KEYS), "chats"];
  if (path.length === 4 && path[2] === "chats") return Object.keys(CHAT_KEYS);
  return undefined;
}
