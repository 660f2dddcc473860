/**
 * A channel plugin's `message.inbound` payload, checked field by field. Nothing else of it is kept:
 * the group, the sender's standing (owner, allowed, unknown) and the reply route are the host's.
 */
const ID = /^-?[0-9A-Za-z_.@:]{1,64}$/;
const MAX_TEXT = 100_000;
const MAX_NAME = 128;

export interface InboundMessage {
  event_id: number;
  chat: { id: string; type: string; title: string };
  sender: { id: string; name: string; username: string };
  text: string;
  message_id: string;
  attachments: string[];
}

function text(value: unknown, max: number): string {
  return typeof value === "string" ? value.slice(0, max) : "";
}

/** The message, or why it is refused. */
export function readInbound(payload: unknown): { ok: true; message: InboundMessage } | { ok: false; why: string } {
  const p = (typeof payload === "object" && payload !== null ? payload : {}) as Record<string, unknown>;
  const chat = (typeof p.chat === "object" && p.chat !== null ? p.chat : {}) as Record<string, unknown>;
  const sender = (typeof p.sender === "object" && p.sender !== null ? p.sender : {}) as Record<string, unknown>;
  if (!Number.isSafeInteger(p.event_id) || (p.event_id as number) < 0) return { ok: false, why: "event_id" };
  if (typeof chat.id !== "string" || !ID.test(chat.id)) return { ok: false, why: "chat.id" };
  if (typeof sender.id !== "string" || !ID.test(sender.id)) return { ok: false, why: "sender.id" };
  if (typeof p.text !== "string" || p.text.length > MAX_TEXT) return { ok: false, why: "text" };
  const attachments = Array.isArray(p.attachments)
    ? p.attachments.filter((a): a is string => typeof a === "string" && /^[a-z_]{1,32}$/.test(a)).slice(0, 16)
    : [];
  return {
    ok: true,
    message: {
      event_id: p.event_id as number,
      chat: { id: chat.id, type: text(chat.type, 32), title: text(chat.title, MAX_NAME) },
      sender: { id: sender.id, name: text(sender.name, MAX_NAME) || sender.id, username: text(sender.username, 64) },
      text: p.text,
      message_id: text(p.message_id, 32),
      attachments,
    },
  };
}
