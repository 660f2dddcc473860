/**
 * Telegram updates as the core hears them. This only reshapes what Telegram sent; what a message
 * means (its group, whether its sender may talk, a pairing code) is the core's decision.
 */

export interface TelegramUser {
  id: number;
  is_bot?: boolean;
  first_name?: string;
  last_name?: string;
  username?: string;
}

export interface TelegramMessage {
  message_id: number;
  from?: TelegramUser;
  chat: { id: number; type: string; title?: string };
  text?: string;
  caption?: string;
  [kind: string]: unknown;
}

export interface TelegramUpdate {
  update_id: number;
  message?: TelegramMessage;
  callback_query?: { id: string; from: TelegramUser; data?: string; message?: TelegramMessage };
}

/** What the plugin publishes as `message.inbound` (the core validates every field again). */
export interface InboundPayload {
  /** Telegram's update id: increasing, so the core can refuse one it has seen (a replay after a restart). */
  event_id: number;
  chat: { id: string; type: string; title?: string };
  sender: { id: string; name: string; username?: string };
  text: string;
  message_id: string;
  /** Kinds of attachments the message carries (photo, document, …); the core refuses them unless enabled. */
  attachments: string[];
}

const ATTACHMENT_KINDS = ["photo", "document", "voice", "video", "audio", "sticker", "animation", "video_note"];

function nameOf(user: TelegramUser): string {
  const name = [user.first_name, user.last_name].filter((p) => typeof p === "string" && p !== "").join(" ");
  return (name || user.username || String(user.id)).slice(0, 128);
}

export type Heard =
  | { kind: "message"; payload: InboundPayload }
  | { kind: "button"; callbackId: string; token: string; user: { id: string; name: string }; chat: string }
  | { kind: "other" };

export function hear(update: TelegramUpdate): Heard {
  const m = update.message;
  if (m?.from && !m.from.is_bot && typeof m.chat?.id === "number") {
    return {
      kind: "message",
      payload: {
        event_id: update.update_id,
        chat: {
          id: String(m.chat.id),
          type: String(m.chat.type),
          ...(typeof m.chat.title === "string" ? { title: m.chat.title.slice(0, 128) } : {}),
        },
        sender: {
          id: String(m.from.id),
          name: nameOf(m.from),
          ...(m.from.username ? { username: m.from.username.slice(0, 64) } : {}),
        },
        text: typeof m.text === "string" ? m.text : typeof m.caption === "string" ? m.caption : "",
        message_id: String(m.message_id),
        attachments: ATTACHMENT_KINDS.filter((k) => m[k] !== undefined),
      },
    };
  }
  const q = update.callback_query;
  if (q && typeof q.id === "string" && typeof q.data === "string" && q.from) {
    return {
      kind: "button",
      callbackId: q.id,
      token: q.data,
      user: { id: String(q.from.id), name: nameOf(q.from) },
      chat: q.message ? String(q.message.chat.id) : "",
    };
  }
  return { kind: "other" };
}
