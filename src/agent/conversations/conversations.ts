/**
 * Host-managed conversations: the API channels and the CLI use to make messages continue.
 *
 * A conversation belongs to one group and is keyed by what it lives in: `cli:<id>` for a
 * `carapace chat` REPL (or a `carapace prompt`), `<channel>:<chat>` for a channel chat. The HOST
 * records every turn (who sent it, the text, the agent's final answer) in
 * <home>/data/conversations/<group>.sqlite. A later session never resumes Claude Code's own session
 * files (the agent could have rewritten them); its prompt is rendered from the host's record: the
 * earlier turns as quoted JSON strings with the sender named, newest kept within the group's
 * `history_turns` / `history_bytes`, then the current message (render.ts).
 *
 * For a channel (what the channel plugin publishes and gets back):
 *
 *   publishEvent("message.inbound", {
 *     text: string,               // required, 1..100000 characters
 *     chat?: string,              // the channel's chat id (printable ASCII, ≤128): same chat, same conversation
 *     new_conversation?: boolean, // end the chat's conversation first (the chat's "/new")
 *     sender?: { id: string, name: string },  // who wrote it, as the channel knows them (≤128 each)
 *     reply_to?: unknown,         // echoed back untouched
 *   }, { group })
 *
 *   - The channel's name is the publishing plugin's (from the envelope the host minted, never the
 *     payload); the conversation key is `<plugin>:<chat>`. Without `chat` the message is one-shot.
 *   - Inbound text is always rendered as a message from the named sender, never as the owner's
 *     instructions (a fake "system" or "post-compaction audit" text stays one quoted string).
 *   - The session's end is published as `agent.completed` { task, answer, reply_to, conversation,
 *     chat } or `agent.error` { task, message, reply_to, conversation, chat }; `response.*` events
 *     carry `task`.
 *
 * On the host (AgentManager.converse, the control socket's `prompt` with `conversation`):
 *   conversations.resolve(group, choice) → Conversation (throws a [CONVERSATION] error for an id
 *   that is not an open conversation of that group); begin() records the turn and renders the
 *   prompt when its session starts; finish() records the answer.
 */
import { randomBytes } from "node:crypto";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../../config/keys.ts";
import { groupSettings } from "../../config/load.ts";
import { UserError } from "../../errors/user-error.ts";
import { isValidStorageName } from "../../storage/names.ts";
import { type HistoryLimits, renderConversationPrompt } from "./render.ts";
import { CONVERSATIONS_FEATURE, type ConversationStore, openConversationStore } from "./store.ts";
import { CONVERSATION_ID, type Conversation, type Sender, type Turn } from "./types.ts";

export type { HistoryLimits } from "./render.ts";
export type { Conversation, Sender, Turn } from "./types.ts";

/** Which conversation a message belongs to. */
export type ConversationChoice =
  /** Continue this conversation (an open one of the same group). */
  | { readonly id: string }
  /** The open conversation of this key, made when there is none; `fresh` ends it first. */
  | { readonly key: string; readonly fresh?: boolean };

/** A turn whose session is starting: its record and the prompt rendered for it. */
export interface BegunTurn {
  readonly conversation: Conversation;
  readonly turn: Turn;
  readonly prompt: string;
}

/** A group's history limits: [groups.<g>] history_turns / history_bytes over [conversation]. */
export function historyLimits(config: Config, group: string): HistoryLimits {
  const settings = groupSettings(config, group);
  return { turns: settings.history_turns, bytes: settings.history_bytes };
}

export class Conversations {
  constructor(
    private readonly home: string,
    private readonly limitsFor: (group: string) => HistoryLimits,
  ) {}

  /** The group's store; the group (from host state) picks the database file. */
  store(group: string): ConversationStore {
    return openConversationStore(this.home, group);
  }

  resolve(group: string, choice: ConversationChoice): Conversation {
    const store = this.store(group);
    if ("id" in choice) {
      const found = CONVERSATION_ID.test(choice.id) ? store.get(choice.id) : null;
      if (!found || found.endedAt !== null)
        throw new UserError(
          "CONVERSATION",
          `no open conversation ${JSON.stringify(choice.id.slice(0, 40))} in group ${group}`,
          "check the id and the group (`--group`), or start a new conversation",
        );
      return found;
    }
    return choice.fresh ? store.startNew(choice.key) : store.openFor(choice.key);
  }

  /**
   * At start-up, before any session: turns a stopped or crashed core left running are recorded failed,
   * so the next session of their conversation is told that message got no answer. Returns how many.
   */
  abandonRunning(): number {
    let files: string[];
    try {
      files = readdirSync(join(this.home, "data", CONVERSATIONS_FEATURE));
    } catch {
      return 0;
    }
    let abandoned = 0;
    for (const file of files) {
      const group = file.endsWith(".sqlite") ? file.slice(0, -".sqlite".length) : "";
      if (isValidStorageName(group)) abandoned += this.store(group).abandonRunning();
    }
    return abandoned;
  }

  /** A new conversation for one message (a one-shot prompt, a channel message with no chat). */
  oneShot(group: string, channel: string): Conversation {
    return this.store(group).startNew(`${channel}:${randomBytes(10).toString("hex")}`);
  }

  /** Records the message and renders the session's prompt from the turns before it. */
  begin(conversation: Conversation, sender: Sender, text: string): BegunTurn {
    const store = this.store(conversation.group);
    const limits = this.limitsFor(conversation.group);
    const turn = store.beginTurn(conversation.id, sender, text);
    const history = store.history(conversation.id, limits.turns, turn.seq);
    const unloaded = store.completedBefore(conversation.id, turn.seq) - history.length;
    return {
      conversation,
      turn,
      prompt: renderConversationPrompt(history, turn.sender, turn.text, limits, unloaded),
    };
  }

  finish(begun: BegunTurn, outcome: { ok: boolean; answer: string }): void {
    this.store(begun.conversation.group).finishTurn(begun.turn.id, outcome);
  }
}
