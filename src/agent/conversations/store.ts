import type { Database } from "bun:sqlite";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { UserError } from "../../errors/user-error.ts";
import { openGroupDb } from "../../storage/group-db.ts";
import type { Migration } from "../../storage/migrations.ts";
import {
  CHANNEL_NAME,
  CONVERSATION_ID,
  CONVERSATION_KEY,
  type Conversation,
  MAX_SENDER_FIELD,
  MAX_TURN_TEXT,
  type Sender,
  type Turn,
  type TurnStatus,
} from "./types.ts";

/** Databases live at <home>/data/conversations/<group>.sqlite: one file per group, host-only. */
export const CONVERSATIONS_FEATURE = "conversations";

export const CONVERSATION_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: "conversations and their turns",
    up: `
      CREATE TABLE conversations (
        id TEXT PRIMARY KEY,
        key TEXT NOT NULL,
        created_at TEXT NOT NULL,
        ended_at TEXT
      );
      CREATE UNIQUE INDEX conversations_open_key ON conversations (key) WHERE ended_at IS NULL;
      CREATE TABLE turns (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        conversation TEXT NOT NULL REFERENCES conversations (id),
        seq INTEGER NOT NULL,
        at TEXT NOT NULL,
        sender_kind TEXT NOT NULL CHECK (sender_kind IN ('owner', 'contact')),
        sender_channel TEXT NOT NULL,
        sender_id TEXT NOT NULL DEFAULT '',
        sender_name TEXT NOT NULL DEFAULT '',
        text TEXT NOT NULL,
        answer TEXT,
        status TEXT NOT NULL CHECK (status IN ('running', 'answered', 'failed')),
        UNIQUE (conversation, seq)
      );
    `,
  },
];

interface ConversationRow {
  id: string;
  key: string;
  created_at: string;
  ended_at: string | null;
}

interface TurnRow {
  id: number;
  conversation: string;
  seq: number;
  at: string;
  sender_kind: "owner" | "contact";
  sender_channel: string;
  sender_id: string;
  sender_name: string;
  text: string;
  answer: string | null;
  status: TurnStatus;
}

function conversationError(what: string, fix: string): Error {
  return new UserError("CONVERSATION", what, fix);
}

/** A sender as the store keeps it: names checked, free text cut to its limit. */
export function checkedSender(sender: Sender): Sender {
  if (sender.kind === "owner") {
    if (!CHANNEL_NAME.test(sender.via))
      throw conversationError("the owner's channel name is invalid", "use a plain name");
    return { kind: "owner", via: sender.via };
  }
  if (!CHANNEL_NAME.test(sender.channel))
    throw conversationError("the sender's channel name is invalid", "use a plain name");
  const id = String(sender.id).slice(0, MAX_SENDER_FIELD);
  const name = String(sender.name).slice(0, MAX_SENDER_FIELD);
  return { kind: "contact", channel: sender.channel, id: id || "unknown", name: name || "unknown" };
}

function toConversation(group: string, row: ConversationRow): Conversation {
  return { id: row.id, group, key: row.key, createdAt: row.created_at, endedAt: row.ended_at };
}

function toTurn(row: TurnRow): Turn {
  const sender: Sender =
    row.sender_kind === "owner"
      ? { kind: "owner", via: row.sender_channel }
      : { kind: "contact", channel: row.sender_channel, id: row.sender_id, name: row.sender_name };
  return {
    id: row.id,
    conversation: row.conversation,
    seq: row.seq,
    at: row.at,
    sender,
    text: row.text,
    answer: row.answer,
    status: row.status,
  };
}

const TURN_COLUMNS =
  "id, conversation, seq, at, sender_kind, sender_channel, sender_id, sender_name, text, answer, status";

/**
 * One group's conversations. The group is fixed when the store is opened (from host state: the
 * session's group) and picks the database file, so nothing asked of this store can reach another
 * group's conversations.
 */
export class ConversationStore {
  constructor(
    readonly group: string,
    private readonly db: Database,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** The conversation with this id in this group, or null (an id of another group is not found). */
  get(id: string): Conversation | null {
    if (!CONVERSATION_ID.test(id)) return null;
    const row = this.db
      .query<ConversationRow, [string]>("SELECT id, key, created_at, ended_at FROM conversations WHERE id = ?")
      .get(id);
    return row ? toConversation(this.group, row) : null;
  }

  /** The open conversation of `key`, or null. */
  current(key: string): Conversation | null {
    const row = this.db
      .query<ConversationRow, [string]>(
        "SELECT id, key, created_at, ended_at FROM conversations WHERE key = ? AND ended_at IS NULL",
      )
      .get(key);
    return row ? toConversation(this.group, row) : null;
  }

  /** The open conversation of `key`, made when there is none. */
  openFor(key: string): Conversation {
    return this.current(checkedKey(key)) ?? this.create(key);
  }

  /** Ends the open conversation of `key` (if any) and starts a new one: what `/new` does. */
  startNew(key: string): Conversation {
    const checked = checkedKey(key);
    return this.db.transaction(() => {
      this.db
        .query<never, [string, string]>("UPDATE conversations SET ended_at = ? WHERE key = ? AND ended_at IS NULL")
        .run(this.now().toISOString(), checked);
      return this.create(checked);
    })();
  }

  /** Ends a conversation: its turns stay recorded, and no later turn continues it. */
  end(id: string): boolean {
    const result = this.db
      .query<never, [string, string]>("UPDATE conversations SET ended_at = ? WHERE id = ? AND ended_at IS NULL")
      .run(this.now().toISOString(), id);
    return result.changes > 0;
  }

  private create(key: string): Conversation {
    const id = randomBytes(10).toString("hex");
    const createdAt = this.now().toISOString();
    this.db
      .query<never, [string, string, string]>("INSERT INTO conversations (id, key, created_at) VALUES (?, ?, ?)")
      .run(id, checkedKey(key), createdAt);
    return { id, group: this.group, key, createdAt, endedAt: null };
  }

  /** Records a message (status running) before its session starts; the answer comes with finishTurn. */
  beginTurn(conversationId: string, sender: Sender, text: string): Turn {
    const conversation = this.get(conversationId);
    if (!conversation || conversation.endedAt !== null)
      throw conversationError(
        `no open conversation ${conversationId} in group ${this.group}`,
        "start a new conversation (without --conversation, or /new in `carapace chat`)",
      );
    const who = checkedSender(sender);
    const row = this.db.transaction(() => {
      const last = this.db
        .query<{ seq: number | null }, [string]>("SELECT max(seq) AS seq FROM turns WHERE conversation = ?")
        .get(conversationId);
      return this.db
        .query<TurnRow, [string, number, string, string, string, string, string, string]>(
          `INSERT INTO turns (conversation, seq, at, sender_kind, sender_channel, sender_id, sender_name, text, status)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'running') RETURNING ${TURN_COLUMNS}`,
        )
        .get(
          conversationId,
          (last?.seq ?? 0) + 1,
          this.now().toISOString(),
          who.kind,
          who.kind === "owner" ? who.via : who.channel,
          who.kind === "owner" ? "" : who.id,
          who.kind === "owner" ? "" : who.name,
          text.slice(0, MAX_TURN_TEXT),
        );
    })();
    if (!row) throw conversationError("the turn was not recorded", "check the disk is writable");
    return toTurn(row);
  }

  /** The agent's final answer (ok) or the session's failure: the turn is complete either way. */
  finishTurn(turnId: number, outcome: { ok: boolean; answer: string }): void {
    this.db
      .query<never, [string | null, TurnStatus, number]>(
        "UPDATE turns SET answer = ?, status = ? WHERE id = ? AND status = 'running'",
      )
      .run(outcome.ok ? outcome.answer.slice(0, MAX_TURN_TEXT) : null, outcome.ok ? "answered" : "failed", turnId);
  }

  /** Turns a stopped or crashed core left running: their sessions are gone, so they failed. */
  abandonRunning(): number {
    return this.db.query("UPDATE turns SET status = 'failed' WHERE status = 'running'").run().changes;
  }

  /** The newest `max` completed turns of a conversation before turn `beforeSeq`, oldest first. */
  history(conversationId: string, max: number, beforeSeq = Number.MAX_SAFE_INTEGER): Turn[] {
    const rows = this.db
      .query<TurnRow, [string, number, number]>(
        `SELECT ${TURN_COLUMNS} FROM turns WHERE conversation = ? AND seq < ? AND status != 'running'
         ORDER BY seq DESC LIMIT ?`,
      )
      .all(conversationId, beforeSeq, Math.max(0, Math.trunc(max)));
    return rows.reverse().map(toTurn);
  }

  /** How many completed turns a conversation has before turn `beforeSeq`. */
  completedBefore(conversationId: string, beforeSeq: number): number {
    const row = this.db
      .query<{ n: number }, [string, number]>(
        "SELECT count(*) AS n FROM turns WHERE conversation = ? AND seq < ? AND status != 'running'",
      )
      .get(conversationId, beforeSeq);
    return row?.n ?? 0;
  }

  /** Every turn of a conversation, oldest first (for `carapace chat` and tests). */
  turns(conversationId: string): Turn[] {
    return this.db
      .query<TurnRow, [string]>(`SELECT ${TURN_COLUMNS} FROM turns WHERE conversation = ? ORDER BY seq`)
      .all(conversationId)
      .map(toTurn);
  }
}

function checkedKey(key: string): string {
  if (!CONVERSATION_KEY.test(key))
    throw conversationError(
      "the conversation key is invalid",
      "use <channel>:<chat> with printable characters, at most 160",
    );
  return key;
}

/** The store of one group's conversations under `home` (names validated by the storage layer). */
export function openConversationStore(home: string, group: string): ConversationStore {
  const db = openGroupDb({
    dataRoot: join(home, "data"),
    feature: CONVERSATIONS_FEATURE,
    group,
    migrations: CONVERSATION_MIGRATIONS,
  });
  return new ConversationStore(group, db);
}
