import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { Conversations, historyLimits } from "../../../src/agent/conversations/conversations.ts";
import { inboundConversation } from "../../../src/agent/conversations/inbound.ts";
import {
  CONVERSATION_MIGRATIONS,
  ConversationStore,
  openConversationStore,
} from "../../../src/agent/conversations/store.ts";
import type { Sender } from "../../../src/agent/conversations/types.ts";
import { cloneDefaults } from "../../../src/config/schema.ts";
import { closeAll, openMemoryDb } from "../../../src/storage/group-db.ts";

const owner: Sender = { kind: "owner", via: "cli" };
const alice: Sender = { kind: "contact", channel: "telegram", id: "42", name: "Alice" };

let home: string;
beforeEach(() => {
  home = mkdtempSync("/tmp/cconv-");
});
afterEach(() => {
  closeAll();
  rmSync(home, { recursive: true, force: true });
});

const memoryStore = (group = "g") =>
  new ConversationStore(group, openMemoryDb(CONVERSATION_MIGRATIONS, "CONVERSATION"));

describe("the store", () => {
  test("a key has one open conversation; /new ends it and starts another", () => {
    const store = memoryStore();
    const first = store.openFor("telegram:100");
    expect(store.openFor("telegram:100").id).toBe(first.id);
    const second = store.startNew("telegram:100");
    expect(second.id).not.toBe(first.id);
    expect(store.get(first.id)?.endedAt).not.toBeNull();
    expect(store.current("telegram:100")?.id).toBe(second.id);
    expect(store.end(second.id)).toBe(true);
    expect(store.end(second.id)).toBe(false);
    expect(store.current("telegram:100")).toBeNull();
  });

  test("turns are numbered per conversation; history has only completed turns before the current one", () => {
    const store = memoryStore();
    const c = store.openFor("cli:abc");
    const t1 = store.beginTurn(c.id, owner, "one");
    store.finishTurn(t1.id, { ok: true, answer: "first answer" });
    const t2 = store.beginTurn(c.id, alice, "two");
    store.finishTurn(t2.id, { ok: false, answer: "partial text" });
    const t3 = store.beginTurn(c.id, owner, "three");
    expect([t1.seq, t2.seq, t3.seq]).toEqual([1, 2, 3]);
    const history = store.history(c.id, 10, t3.seq);
    expect(history.map((t) => [t.seq, t.text, t.answer, t.status])).toEqual([
      [1, "one", "first answer", "answered"],
      [2, "two", null, "failed"],
    ]);
    expect(history[1]?.sender).toEqual(alice);
    expect(store.history(c.id, 1, t3.seq).map((t) => t.seq)).toEqual([2]);
    // A second finish of the same turn changes nothing.
    store.finishTurn(t1.id, { ok: true, answer: "rewritten" });
    expect(store.turns(c.id)[0]?.answer).toBe("first answer");
  });

  test("bad keys, ids, senders and ended conversations are refused with a clear error", () => {
    const store = memoryStore();
    for (const key of ["", "telegram", "Telegram:1", "telegram:has space", `telegram:${"x".repeat(129)}`])
      expect(() => store.openFor(key)).toThrow(/^\[CONVERSATION\] Error: the conversation key is invalid/);
    expect(store.get("../../etc")).toBeNull();
    expect(() => store.beginTurn("0".repeat(20), owner, "x")).toThrow(/no open conversation/);
    const c = store.openFor("cli:x");
    store.end(c.id);
    expect(() => store.beginTurn(c.id, owner, "x")).toThrow(/no open conversation/);
    const open = store.openFor("cli:y");
    expect(() => store.beginTurn(open.id, { kind: "contact", channel: "Bad Name", id: "1", name: "n" }, "x")).toThrow(
      /channel name is invalid/,
    );
    const long = store.beginTurn(open.id, { ...alice, name: "n".repeat(1000) }, "x");
    expect(long.sender.kind === "contact" && long.sender.name.length).toBe(128);
  });

  test("each group has its own database file under data/conversations, private to the host", () => {
    const a = openConversationStore(home, "alpha");
    const b = openConversationStore(home, "beta");
    const c = a.openFor("telegram:7");
    a.beginTurn(c.id, owner, "alpha's secret");
    expect(b.get(c.id)).toBeNull();
    expect(b.current("telegram:7")).toBeNull();
    expect(b.openFor("telegram:7").id).not.toBe(c.id);
    const file = join(home, "data", "conversations", "alpha.sqlite");
    expect(existsSync(file)).toBe(true);
    expect(statSync(file).mode & 0o077).toBe(0);
    expect(() => openConversationStore(home, "../alpha")).toThrow(/invalid group name/);
  });
});

describe("conversations", () => {
  test("begin renders the earlier turns of the same conversation within the group's limits", () => {
    const config = cloneDefaults();
    config.groups.tight = { history_turns: 1 };
    const conversations = new Conversations(home, (group) => historyLimits(config, group));
    const c = conversations.resolve("tight", { key: "cli:one", fresh: true });
    const t1 = conversations.begin(c, owner, "my name is Ada");
    expect(t1.prompt).toBe("my name is Ada");
    conversations.finish(t1, { ok: true, answer: "hello Ada" });
    const t2 = conversations.begin(c, owner, "I live in Paris");
    expect(t2.prompt).toContain('"my name is Ada"');
    expect(t2.prompt).toContain('"hello Ada"');
    conversations.finish(t2, { ok: true, answer: "nice" });
    const t3 = conversations.begin(c, owner, "where do I live?");
    expect(t3.prompt).toContain("Paris");
    expect(t3.prompt).not.toContain("Ada");
    expect(t3.prompt).toContain("> 1 older turn(s) are not shown.");
    expect(historyLimits(config, "other")).toEqual({ turns: 20, bytes: 32_000 });
  });

  test("a turn a crashed core left running is recorded failed at start-up; the next session is told it got no answer", () => {
    const limits = () => ({ turns: 20, bytes: 32_000 });
    const before = new Conversations(home, limits);
    const c = before.resolve("alpha", { key: "cli:crash" });
    const other = before.resolve("beta", { key: "cli:other" });
    before.begin(c, owner, "book the flight");
    before.begin(other, owner, "and the hotel");
    closeAll();

    const after = new Conversations(home, limits);
    expect(after.abandonRunning()).toBe(2);
    expect(
      after
        .store("alpha")
        .turns(c.id)
        .map((t) => [t.text, t.status, t.answer]),
    ).toEqual([["book the flight", "failed", null]]);
    const next = after.begin(c, owner, "did you book it?");
    expect(next.prompt).toContain('"book the flight"\n  [no answer: that session failed]');
    expect(after.abandonRunning()).toBe(1);
  });

  test("an id is only found in its own group, and only while open", () => {
    const conversations = new Conversations(home, () => ({ turns: 20, bytes: 32_000 }));
    const c = conversations.resolve("alpha", { key: "cli:a" });
    expect(conversations.resolve("alpha", { id: c.id }).id).toBe(c.id);
    expect(() => conversations.resolve("beta", { id: c.id })).toThrow(/no open conversation .* in group beta/);
    expect(() => conversations.resolve("alpha", { id: "not-an-id" })).toThrow(/no open conversation/);
    conversations.store("alpha").end(c.id);
    expect(() => conversations.resolve("alpha", { id: c.id })).toThrow(/no open conversation/);
    const once = conversations.oneShot("alpha", "telegram");
    expect(once.key).toMatch(/^telegram:[0-9a-f]{20}$/);
  });
});

describe("what a message.inbound says", () => {
  test("the channel comes from the host-minted source; the chat names the conversation; the sender is a contact", () => {
    expect(
      inboundConversation("plugin:telegram", { text: "hi", chat: 12345, sender: { id: 42, name: "Alice" } }),
    ).toEqual({
      channel: "telegram",
      chat: "12345",
      sender: { kind: "contact", channel: "telegram", id: "42", name: "Alice" },
      choice: { key: "telegram:12345", fresh: false },
    });
    expect(inboundConversation("plugin:telegram", { text: "hi", chat: "-100", new_conversation: true }).choice).toEqual(
      {
        key: "telegram:-100",
        fresh: true,
      },
    );
    expect(inboundConversation("plugin:telegram", { text: "hi" })).toEqual({
      channel: "telegram",
      sender: { kind: "contact", channel: "telegram", id: "unknown", name: "unknown sender" },
    });
  });

  test("a payload cannot claim to be the owner or reach the host's own conversations", () => {
    const claimed = inboundConversation("plugin:telegram", {
      chat: "1",
      sender: { id: "1", name: "owner", kind: "owner", via: "cli", owner: true },
      channel: "cli",
    });
    expect(claimed.sender.kind).toBe("contact");
    expect(claimed.choice).toEqual({ key: "telegram:1", fresh: false });
    expect(() => inboundConversation("plugin:cli", { chat: "1" })).toThrow(/unnamed channel/);
    expect(() => inboundConversation("plugin:Bad Name", { chat: "1" })).toThrow(/unnamed channel/);
    for (const chat of ["", "a b", "x".repeat(129), { id: 1 }, 1.5])
      expect(() => inboundConversation("plugin:telegram", { chat })).toThrow(/invalid chat/);
  });
});
