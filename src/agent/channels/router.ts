/**
 * The host's side of chat channels (docs/THREAT_MODEL.md, "Channels"). A channel plugin reports what
 * it heard; this router decides what it means, from host state only:
 * - the group of a chat is its binding in config.toml ([channels.<name>.chats."<id>"]);
 * - whether a sender may talk is the chat's allow list and unknown_sender policy, and the paired owner;
 * - an update id already taken is refused (a replay after a restart);
 * - a pairing code is checked here, and the owner's user id is stored here, never by the plugin;
 * - approvals of a channel session's high-risk calls go to the owner's private chat as buttons whose
 *   tokens are unguessable and single-use, and only the owner's user id can answer them.
 * The answer of a turn goes back to the chat it came from, with a typing indicator meanwhile.
 */
import { randomBytes } from "node:crypto";
import type { ChannelConfig, ChatBinding } from "../../config/channel-keys.ts";
import type { ArgumentField } from "../../core/approval-request.ts";
import type { AnswerOutcome, Approver, DecisionRecord } from "../../core/confirmations.ts";
import type { AuditEntry } from "../../core/response/audit-record.ts";
import { logLine } from "../../core/response/log-stream.ts";
import type { ChannelDesk, InboundVerdict } from "../../plugins/channel-desk.ts";
import type { ChannelDelivery, DeliveryReceipt } from "../../plugins/sdk/types.ts";
import { mintIdentity, type SessionIdentity } from "../../protocol/envelope.ts";
import { approvalText, decisionText } from "./approval-text.ts";
import { type InboundMessage, readInbound } from "./inbound.ts";
import { type ChannelOwner, readChannelState, writeChannelState } from "./owner-store.ts";
import { codeIn, PairingCodes } from "./pairing.ts";

const TYPING_EVERY_MS = 4_000;
const HELD_TTL_MS = 60 * 60_000;
const MAX_HELD = 100;
const DELIVERY_ATTEMPTS = 5;

/** What the router needs of the core (kept narrow: the core's own shape may change around it). */
export interface RouterCore {
  audit(entry: AuditEntry): Promise<unknown>;
  publish(identity: SessionIdentity, topic: string, payload: unknown): void;
  deliver(channel: string, delivery: ChannelDelivery): Promise<DeliveryReceipt>;
  providerState(channel: string): string | null;
  showConfirmation(id: string): { arguments: string } | null;
  answerConfirmation(id: string, approve: boolean, approver: Approver, hash: string): AnswerOutcome;
  onDecision(listener: (d: DecisionRecord) => void): () => void;
}

/** What the router sees of a turn as it runs (the agent manager's task updates). */
export type TurnUpdate =
  | { kind: "state"; state: string }
  | { kind: "event" }
  | { kind: "confirmation"; id: string; tool: string; fields: ArgumentField[]; request_hash: string }
  | { kind: "done"; ok: boolean; answer: string; error?: string };

/**
 * The payload of the `message.inbound` the router publishes for a chat's group (the agent manager's
 * conversations read it: the chat names the conversation, the sender is always a named contact).
 */
export interface RoutedInbound {
  text: string;
  sender: { id: string; name: string };
  chat: string;
  /** The router's reference for the answer's way back (not the chat id: a consumer cannot redirect it). */
  reply_to: { route: string };
  /** After `/new` in the chat: this message starts a new conversation. */
  new_conversation?: true;
}

interface Route {
  channel: string;
  chat: string;
  message: string;
  group: string;
  from: { name: string; id: string; chat: string; owner: boolean };
  typing: ReturnType<typeof setInterval> | null;
  done: boolean;
}

type ButtonAction =
  | { kind: "approval"; channel: string; confirmation: string; hash: string; approve: boolean; pair: string }
  | { kind: "admit"; channel: string; held: string; admit: boolean; pair: string };

interface Held {
  channel: string;
  message: InboundMessage;
  binding: ChatBinding;
  plugin: string;
  expiresAt: number;
}

interface Shown {
  channel: string;
  chat: string;
  message: string;
  text: string;
  tokens: string[];
}

function token(): string {
  // 18 random bytes: 24 base64url characters, well within Telegram's 64-byte callback_data.
  return randomBytes(18).toString("base64url");
}

export interface ChannelRouterOptions {
  home: string;
  channels: Record<string, ChannelConfig>;
  core: RouterCore;
  /** A channel's credential is stored (for status). */
  credentialStored?(channel: string): boolean;
}

export class ChannelRouter implements ChannelDesk {
  private readonly pairing = new PairingCodes();
  private readonly routes = new Map<string, Route>();
  private readonly buttons = new Map<string, ButtonAction>();
  private readonly held = new Map<string, Held>();
  /** Approval messages shown to the owner, by confirmation id (edited once it is decided). */
  private readonly shown = new Map<string, Shown>();
  /** Chats whose next message starts a new conversation (`/new`). */
  private readonly fresh = new Set<string>();
  private readonly unsubscribe: () => void;

  constructor(private readonly o: ChannelRouterOptions) {
    this.unsubscribe = o.core.onDecision((d) => void this.closeApproval(d));
  }

  private settings(channel: string): ChannelConfig | null {
    const s = this.o.channels[channel];
    return s?.enabled ? s : null;
  }

  private audit(
    channel: string,
    group: string | null,
    outcome: AuditEntry["outcome"],
    detail: Record<string, unknown>,
  ) {
    return this.o.core.audit({ kind: "event", outcome, group, topic: `channel.${channel}`, detail });
  }

  private async send(channel: string, delivery: ChannelDelivery): Promise<DeliveryReceipt | null> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.o.core.deliver(channel, delivery);
      } catch (error) {
        // Retried only while the plugin is restarting (it never got the request); any other failure
        // may have been sent already, and an answer is never sent twice.
        const restarting = this.o.core.providerState(channel) === "restarting";
        if (!restarting || attempt >= DELIVERY_ATTEMPTS) {
          logLine(
            `[CHANNEL] Error: ${channel} could not deliver a ${delivery.kind} message: ${(error as Error).message}`,
            {
              level: "warn",
            },
          );
          return null;
        }
        await Bun.sleep(1_000 * attempt);
      }
    }
  }

  // ---- inbound ----

  async inbound(plugin: string, provided: readonly string[], payload: unknown): Promise<InboundVerdict> {
    const channel = provided[0] as string;
    const settings = this.settings(channel);
    if (!settings)
      return {
        ok: false,
        message: `[CHANNEL] Error: channel ${channel} is not enabled. Fix: set [channels.${channel}] enabled = true.`,
      };
    const read = readInbound(payload);
    if (!read.ok) {
      await this.audit(channel, null, "rejected", {
        event: "inbound refused",
        reason: `bad field ${read.why}`,
        plugin,
      });
      return {
        ok: false,
        message: `[CHANNEL] Error: the inbound message's ${read.why} is missing or invalid. Fix: send the SDK's shape.`,
      };
    }
    const m = read.message;
    const state = readChannelState(this.o.home, channel);
    if (m.event_id <= state.last_event_id) {
      await this.audit(channel, null, "rejected", {
        event: "duplicate update",
        event_id: m.event_id,
        last: state.last_event_id,
      });
      return { ok: true };
    }
    writeChannelState(this.o.home, channel, { ...state, last_event_id: m.event_id });
    const sender = `${channel}:${m.sender.id}`;
    if (m.chat.type === "private" && this.pairing.isPending(channel)) {
      const candidate = codeIn(m.text);
      if (candidate !== null) return this.claimPairing(channel, m, candidate);
    }
    const binding = settings.chats[m.chat.id];
    if (!binding) {
      await this.audit(channel, null, "rejected", { event: "chat not bound", chat: m.chat.id, sender });
      return { ok: true };
    }
    const isOwner = state.owner !== null && state.owner.user === m.sender.id;
    const listed = isOwner || binding.allow.includes(m.sender.id);
    if (!listed && binding.unknown_sender !== "allow") {
      if (binding.unknown_sender === "ask_owner" && state.owner)
        return this.askOwner(channel, plugin, m, binding, state.owner);
      await this.audit(channel, binding.group, "rejected", {
        event: "unknown sender ignored",
        chat: m.chat.id,
        sender,
        policy: binding.unknown_sender,
        ...(binding.unknown_sender === "ask_owner" ? { reason: "no owner is paired to ask" } : {}),
      });
      return { ok: true };
    }
    return this.admit(channel, plugin, m, binding, isOwner);
  }

  private async claimPairing(channel: string, m: InboundMessage, candidate: string): Promise<InboundVerdict> {
    const outcome = this.pairing.claim(channel, candidate);
    if (outcome !== "paired") {
      await this.audit(channel, null, "rejected", {
        event: "pairing code refused",
        sender: `${channel}:${m.sender.id}`,
      });
      await this.send(channel, { kind: "text", chat: m.chat.id, text: "That pairing code is not valid." });
      return { ok: true };
    }
    const owner: ChannelOwner = {
      user: m.sender.id,
      chat: m.chat.id,
      name: m.sender.name,
      paired_at: new Date().toISOString(),
    };
    const state = readChannelState(this.o.home, channel);
    writeChannelState(this.o.home, channel, { ...state, owner });
    await this.audit(channel, null, "info", { event: "owner paired", owner: `${channel}:${owner.user}` });
    await this.send(channel, {
      kind: "text",
      chat: m.chat.id,
      text: "Paired: you are this Carapace's owner. Approvals of high-risk calls from chats will come here.",
    });
    return { ok: true };
  }

  private async askOwner(
    channel: string,
    plugin: string,
    m: InboundMessage,
    binding: ChatBinding,
    owner: ChannelOwner,
  ): Promise<InboundVerdict> {
    const now = Date.now();
    for (const [id, h] of this.held) if (h.expiresAt <= now) this.held.delete(id);
    if (this.held.size >= MAX_HELD) {
      await this.audit(channel, binding.group, "rejected", {
        event: "unknown sender ignored",
        reason: "too many held",
      });
      return { ok: true };
    }
    const heldId = token();
    this.held.set(heldId, { channel, message: m, binding, plugin, expiresAt: now + HELD_TTL_MS });
    const yes = token();
    const no = token();
    this.buttons.set(yes, { kind: "admit", channel, held: heldId, admit: true, pair: no });
    this.buttons.set(no, { kind: "admit", channel, held: heldId, admit: false, pair: yes });
    const preview = m.text.length > 500 ? `${m.text.slice(0, 500)}…` : m.text;
    await this.audit(channel, binding.group, "info", {
      event: "unknown sender held for the owner",
      chat: m.chat.id,
      sender: `${channel}:${m.sender.id}`,
    });
    await this.send(channel, {
      kind: "buttons",
      chat: owner.chat,
      text: `${m.sender.name} (user ${m.sender.id}), who is not on the allow list of chat ${m.chat.title || m.chat.id} (group ${binding.group}), wrote:\n\n${preview}\n\nLet the agent answer this message?`,
      buttons: [
        { label: "Answer it", token: yes },
        { label: "Ignore", token: no },
      ],
    });
    return { ok: true };
  }

  private async admit(
    channel: string,
    plugin: string,
    m: InboundMessage,
    binding: ChatBinding,
    isOwner: boolean,
  ): Promise<InboundVerdict> {
    const settings = this.settings(channel) as ChannelConfig;
    const sender = `${channel}:${m.sender.id}`;
    if (m.attachments.length > 0 && !settings.attachments) {
      await this.audit(channel, binding.group, "rejected", {
        event: "attachment refused",
        chat: m.chat.id,
        sender,
        kinds: m.attachments,
      });
      await this.send(channel, {
        kind: "text",
        chat: m.chat.id,
        text: "Attachments (photos, files, voice) are not accepted here; please send text.",
        ...(m.message_id ? { reply_to: m.message_id } : {}),
      });
      return { ok: true };
    }
    if (m.text.trim() === "") return { ok: true };
    const conversation = `${channel}:${m.chat.id}`;
    const restart = /^\s*\/new(?:@\w+)?(?:\s+([\s\S]*))?$/.exec(m.text);
    if (restart) {
      this.fresh.add(conversation);
      if (!restart[1]?.trim()) {
        await this.send(channel, {
          kind: "text",
          chat: m.chat.id,
          text: "A new conversation starts with your next message.",
        });
        return { ok: true };
      }
      m.text = restart[1];
    }
    const route = token();
    this.routes.set(route, {
      channel,
      chat: m.chat.id,
      message: m.message_id,
      group: binding.group,
      from: { name: m.sender.name, id: m.sender.id, chat: m.chat.title || m.chat.id, owner: isOwner },
      typing: null,
      done: false,
    });
    const payload: RoutedInbound = {
      text: m.text,
      sender: { id: m.sender.id, name: m.sender.name },
      chat: m.chat.id,
      reply_to: { route },
      ...(this.fresh.delete(conversation) ? { new_conversation: true } : {}),
    };
    await this.audit(channel, binding.group, "info", {
      event: "message routed",
      chat: m.chat.id,
      sender,
      owner: isOwner,
      chars: m.text.length,
      plugin,
    });
    this.o.core.publish(
      mintIdentity(`channel:${channel}:${m.chat.id}`, binding.group, `plugin:${plugin}`),
      "message.inbound",
      payload,
    );
    return { ok: true };
  }

  /** The watcher of a turn this router started (by its reply_to), or undefined for anyone else's. */
  watcherFor(replyTo: unknown): ((u: TurnUpdate) => void) | undefined {
    const id = (replyTo as { route?: unknown } | null)?.route;
    const route = typeof id === "string" ? this.routes.get(id) : undefined;
    if (!route) return undefined;
    return (u) => void this.onTurn(id as string, route, u);
  }

  private async onTurn(id: string, route: Route, u: TurnUpdate): Promise<void> {
    if (route.done) return;
    if (u.kind === "state" && u.state === "started" && route.typing === null) {
      const typing = () => void this.send(route.channel, { kind: "typing", chat: route.chat });
      typing();
      route.typing = setInterval(typing, TYPING_EVERY_MS);
    } else if (u.kind === "confirmation") {
      await this.showApproval(route, u);
    } else if (u.kind === "done") {
      route.done = true;
      if (route.typing) clearInterval(route.typing);
      this.routes.delete(id);
      const text = u.ok ? u.answer : "Sorry, the agent could not answer this message.";
      await this.send(route.channel, {
        kind: "text",
        chat: route.chat,
        text,
        ...(route.message ? { reply_to: route.message } : {}),
      });
      await this.audit(route.channel, route.group, u.ok ? "info" : "error", {
        event: "answer delivered",
        chat: route.chat,
        ok: u.ok,
        ...(u.ok ? {} : { error: (u.error ?? "").slice(0, 300) }),
      });
    }
  }

  // ---- approvals ----

  private async showApproval(route: Route, u: Extract<TurnUpdate, { kind: "confirmation" }>): Promise<void> {
    const owner = readChannelState(this.o.home, route.channel).owner;
    if (!owner) {
      await this.audit(route.channel, route.group, "info", {
        event: "approval not sent",
        confirmation: u.id,
        reason: "no owner is paired; answer it with `carapace approve|deny`",
      });
      return;
    }
    const canonical = this.o.core.showConfirmation(u.id)?.arguments ?? "{}";
    const text = approvalText({
      tool: u.tool,
      group: route.group,
      requestHash: u.request_hash,
      fields: u.fields,
      canonical,
      from: route.from,
    });
    const approve = token();
    const deny = token();
    this.buttons.set(approve, {
      kind: "approval",
      channel: route.channel,
      confirmation: u.id,
      hash: u.request_hash,
      approve: true,
      pair: deny,
    });
    this.buttons.set(deny, {
      kind: "approval",
      channel: route.channel,
      confirmation: u.id,
      hash: u.request_hash,
      approve: false,
      pair: approve,
    });
    const receipt = await this.send(route.channel, {
      kind: "buttons",
      chat: owner.chat,
      text,
      buttons: [
        { label: "Approve", token: approve },
        { label: "Deny", token: deny },
      ],
    });
    await this.audit(route.channel, route.group, "info", {
      event: "approval sent to the owner",
      confirmation: u.id,
      request_hash: u.request_hash,
      owner: `${route.channel}:${owner.user}`,
    });
    if (receipt?.message)
      this.shown.set(u.id, {
        channel: route.channel,
        chat: owner.chat,
        message: receipt.message,
        text,
        tokens: [approve, deny],
      });
    else this.shown.set(u.id, { channel: route.channel, chat: owner.chat, message: "", text, tokens: [approve, deny] });
  }

  /** A decision by anyone (a button, the CLI, a timeout): the buttons die and the owner's message says so. */
  private async closeApproval(d: DecisionRecord): Promise<void> {
    const shown = this.shown.get(d.confirmation.id);
    if (!shown) return;
    this.shown.delete(d.confirmation.id);
    for (const t of shown.tokens) this.buttons.delete(t);
    if (!shown.message) return;
    const by = d.approver?.user ?? (d.approver?.channel === "cli" ? "the CLI" : "");
    await this.send(shown.channel, {
      kind: "edit",
      chat: shown.chat,
      message: shown.message,
      text: decisionText(shown.text, d.decision, by),
    });
  }

  async button(_plugin: string, provided: readonly string[], raw: unknown): Promise<{ text: string }> {
    const press = (typeof raw === "object" && raw !== null ? raw : {}) as Record<string, unknown>;
    const user = (typeof press.user === "object" && press.user !== null ? press.user : {}) as Record<string, unknown>;
    const channel =
      typeof press.channel === "string" && provided.includes(press.channel) ? press.channel : (provided[0] as string);
    const userId = typeof user.id === "string" ? user.id.slice(0, 64) : "";
    const action = typeof press.token === "string" ? this.buttons.get(press.token) : undefined;
    if (!action || action.channel !== channel) {
      await this.audit(channel, null, "rejected", {
        event: "button refused",
        reason: "unknown or used token",
        user: `${channel}:${userId}`,
      });
      return { text: "This button is no longer valid." };
    }
    const owner = readChannelState(this.o.home, channel).owner;
    if (!owner || owner.user !== userId) {
      await this.audit(channel, null, "rejected", {
        event: "button refused",
        reason: "not the owner",
        user: `${channel}:${userId}`,
        ...(action.kind === "approval" ? { confirmation: action.confirmation } : {}),
      });
      return { text: "Only the owner can answer this." };
    }
    this.buttons.delete(press.token as string);
    this.buttons.delete(action.pair);
    const approver: Approver = { channel, user: `${channel}:${userId}` };
    if (action.kind === "approval") {
      const outcome = this.o.core.answerConfirmation(action.confirmation, action.approve, approver, action.hash);
      if (!outcome.ok)
        return {
          text:
            outcome.reason === "caller_gone"
              ? "The call was cancelled: its caller is gone."
              : "This request is no longer pending.",
        };
      return { text: outcome.decision === "approved" ? "Approved." : "Denied." };
    }
    const held = this.held.get(action.held);
    this.held.delete(action.held);
    if (!held || held.expiresAt <= Date.now()) return { text: "That message is too old now." };
    if (!action.admit) {
      await this.audit(channel, held.binding.group, "rejected", {
        event: "unknown sender ignored",
        by: approver.user,
        sender: `${channel}:${held.message.sender.id}`,
      });
      return { text: "Ignored." };
    }
    await this.audit(channel, held.binding.group, "info", {
      event: "unknown sender admitted once",
      by: approver.user,
      sender: `${channel}:${held.message.sender.id}`,
    });
    await this.admit(channel, held.plugin, held.message, held.binding, false);
    return { text: "The agent will answer it." };
  }

  // ---- the operator's commands ----

  names(): string[] {
    return Object.keys(this.o.channels).sort();
  }

  pair(channel: string): { code: string; expires_at: string } {
    const { code, expiresAt } = this.pairing.start(channel);
    void this.audit(channel, null, "info", { event: "pairing started" });
    return { code, expires_at: new Date(expiresAt).toISOString() };
  }

  unpair(channel: string): { unpaired: boolean } {
    const state = readChannelState(this.o.home, channel);
    this.pairing.cancel(channel);
    if (!state.owner) return { unpaired: false };
    writeChannelState(this.o.home, channel, { ...state, owner: null });
    void this.audit(channel, null, "info", { event: "owner unpaired", owner: `${channel}:${state.owner.user}` });
    return { unpaired: true };
  }

  status(channel: string) {
    const s = this.o.channels[channel];
    const state = readChannelState(this.o.home, channel);
    const expires = this.pairing.expiresAt(channel);
    return {
      channel,
      enabled: s?.enabled === true,
      plugin: this.o.core.providerState(channel),
      token_stored: this.o.credentialStored?.(channel) ?? null,
      owner: state.owner ? { user: state.owner.user, name: state.owner.name, paired_at: state.owner.paired_at } : null,
      pairing: expires === null ? null : { expires_at: new Date(expires).toISOString() },
      chats: Object.entries(s?.chats ?? {}).map(([chat, b]) => ({
        chat,
        group: b.group,
        allow: b.allow.length,
        unknown_sender: b.unknown_sender,
      })),
      last_event_id: state.last_event_id,
    };
  }

  close(): void {
    this.unsubscribe();
    for (const r of this.routes.values()) if (r.typing) clearInterval(r.typing);
  }
}
