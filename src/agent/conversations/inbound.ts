import type { ConversationChoice } from "./conversations.ts";
import { CHANNEL_NAME, MAX_SENDER_FIELD, type Sender } from "./types.ts";

/** What a `message.inbound` says about its conversation and sender, checked. */
export interface InboundConversation {
  readonly channel: string;
  /** Absent for a one-shot message (no chat named). */
  readonly choice?: ConversationChoice;
  readonly chat?: string;
  readonly sender: Sender;
}

const CHAT = /^[!-~]{1,128}$/;
/** Conversations of the owner on the host; no channel may reach them. */
const HOST_CHANNEL = "cli";

function refused(what: string): Error {
  return new Error(`message.inbound ${what}`);
}

/**
 * The channel is named by the envelope the host minted (`plugin:<name>` for a channel plugin), never
 * by the payload; so is the conversation key's prefix. The sender is always a contact: inbound text is
 * never the owner's instructions, whoever the channel says wrote it.
 */
export function inboundConversation(source: string, payload: unknown): InboundConversation {
  const channel = source.startsWith("plugin:") ? source.slice("plugin:".length) : source;
  if (!CHANNEL_NAME.test(channel) || channel === HOST_CHANNEL)
    throw refused(`from an unnamed channel (${source.slice(0, 40)})`);
  const p = (typeof payload === "object" && payload !== null ? payload : {}) as Record<string, unknown>;
  const s = (typeof p.sender === "object" && p.sender !== null ? p.sender : {}) as Record<string, unknown>;
  const field = (value: unknown, fallback: string) =>
    typeof value === "string" && value.length > 0
      ? value.slice(0, MAX_SENDER_FIELD)
      : typeof value === "number"
        ? String(value)
        : fallback;
  const sender: Sender = {
    kind: "contact",
    channel,
    id: field(s.id, "unknown"),
    name: field(s.name, "unknown sender"),
  };
  if (p.chat === undefined) return { channel, sender };
  const chat = typeof p.chat === "number" && Number.isSafeInteger(p.chat) ? String(p.chat) : p.chat;
  if (typeof chat !== "string" || !CHAT.test(chat))
    throw refused("names an invalid chat (printable ASCII, 1-128 characters)");
  return { channel, chat, sender, choice: { key: `${channel}:${chat}`, fresh: p.new_conversation === true } };
}
