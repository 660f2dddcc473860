/**
 * Who wrote a turn, from host state only: the owner (on the host's CLI, or through a channel that
 * matched the owner's paired account), or a channel contact named by the channel.
 */
export type Sender =
  | { readonly kind: "owner"; readonly via: string }
  | { readonly kind: "contact"; readonly channel: string; readonly id: string; readonly name: string };

export type TurnStatus = "running" | "answered" | "failed";

/** One message and the agent's final answer to it, as the host recorded them. */
export interface Turn {
  readonly id: number;
  readonly conversation: string;
  /** 1, 2, 3, … within its conversation. */
  readonly seq: number;
  readonly at: string;
  readonly sender: Sender;
  readonly text: string;
  readonly answer: string | null;
  readonly status: TurnStatus;
}

export interface Conversation {
  readonly id: string;
  readonly group: string;
  /** What the conversation belongs to: `cli:<id>` for a host REPL or prompt, `<channel>:<chat>` for a chat. */
  readonly key: string;
  readonly createdAt: string;
  readonly endedAt: string | null;
}

/** Channel and owner-channel names: short plain words (`telegram`, `cli`). */
export const CHANNEL_NAME = /^[a-z][a-z0-9_-]{0,31}$/;
/** A conversation key: `<channel>:<chat>`, printable ASCII without spaces, at most 160 characters. */
export const CONVERSATION_KEY = /^[a-z][a-z0-9_-]{0,31}:[!-~]{1,128}$/;
/** Conversation ids the host makes: 20 lowercase hex digits. */
export const CONVERSATION_ID = /^[0-9a-f]{20}$/;
export const MAX_SENDER_FIELD = 128;
export const MAX_TURN_TEXT = 100_000;
