import {
  type ButtonPress,
  type ChannelDelivery,
  type CoreServices,
  type DeliveryReceipt,
  type PluginHandler,
  type ToolContext,
  ToolError,
} from "@carapace/sdk";
import { BotApi, BotApiError } from "./bot-api.ts";
import { fitOneMessage, splitMessage } from "./format.ts";
import { OffsetStore } from "./offset.ts";
import { hear, type TelegramUpdate } from "./updates.ts";

export const TOKEN_CREDENTIAL = "telegram_bot_token";
const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 15_000;
const RETRY_AFTER_MAX_S = 60;
const SEND_TIMEOUT_MS = 20_000;
/** A send is retried only while Telegram said it did not take it (429, 5xx, no connection), this often. */
const SEND_ATTEMPTS = 4;

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}

/** How long to wait after the `failures`-th failure in a row (429 says how long itself). */
export function backoffMs(error: unknown, failures: number): number {
  if (error instanceof BotApiError && error.kind === "rate_limited" && error.retryAfterS !== null)
    return Math.min(error.retryAfterS, RETRY_AFTER_MAX_S) * 1000;
  return Math.min(BACKOFF_BASE_MS * 2 ** Math.max(0, failures - 1), BACKOFF_MAX_MS);
}

function describe(error: unknown): string {
  return error instanceof BotApiError ? error.message : "an unexpected error";
}

/**
 * The built-in Telegram channel. It long-polls getUpdates, hands each update to the core and only
 * then moves its offset on; it sends what the core delivers (answers, typing, approval buttons) and
 * offers `telegram.send` for messages to other chats (high risk).
 */
export class TelegramChannel implements PluginHandler {
  private services: CoreServices | null = null;
  private api: BotApi | null = null;
  private offsets: OffsetStore | null = null;
  private readonly stop = new AbortController();
  private loop: Promise<void> | null = null;
  private pollTimeoutS = 25;

  async initialize(services: CoreServices): Promise<void> {
    this.services = services;
    const config = services.config();
    this.pollTimeoutS = typeof config.poll_timeout_s === "number" ? config.poll_timeout_s : 25;
    const token = (await services.readCredential(TOKEN_CREDENTIAL))?.trim();
    this.offsets = new OffsetStore(services.dataDir("telegram"));
    if (!token) {
      services.log(
        "error",
        "[TELEGRAM] Error: no bot token is stored. Fix: run `carapace channel token telegram`, then restart the core.",
      );
      return;
    }
    this.api = new BotApi({ apiBase: typeof config.api_base === "string" ? config.api_base : "", token });
    this.loop = this.poll();
  }

  private async poll(): Promise<void> {
    const api = this.api as BotApi;
    const offsets = this.offsets as OffsetStore;
    let offset = offsets.read();
    let failures = 0;
    while (!this.stop.signal.aborted) {
      let updates: TelegramUpdate[];
      try {
        updates = await api.call<TelegramUpdate[]>(
          "getUpdates",
          { offset, timeout: this.pollTimeoutS, allowed_updates: ["message", "callback_query"] },
          (this.pollTimeoutS + 10) * 1000,
          this.stop.signal,
        );
        if (!Array.isArray(updates)) throw new BotApiError("malformed", "getUpdates", 200, "result is not a list");
        failures = 0;
      } catch (error) {
        if (this.stop.signal.aborted) return;
        failures++;
        const wait = backoffMs(error, failures);
        this.services?.log("warn", `${describe(error)}; polling again in ${wait} ms`);
        await sleep(wait, this.stop.signal);
        continue;
      }
      for (const update of updates) {
        if (this.stop.signal.aborted) return;
        if (typeof update?.update_id !== "number" || update.update_id < offset) continue;
        await this.take(update);
        offset = update.update_id + 1;
        offsets.write(offset);
      }
    }
  }

  /** Hands one update to the core; the core's refusal is final for that update (it is not retried). */
  private async take(update: TelegramUpdate): Promise<void> {
    const services = this.services as CoreServices;
    const heard = hear(update);
    try {
      if (heard.kind === "message") await services.publishEvent("message.inbound", heard.payload);
      if (heard.kind === "button") {
        const press: ButtonPress = { channel: "telegram", token: heard.token, user: heard.user, chat: heard.chat };
        const { text } = await services.answerButton(press);
        await this.send("answerCallbackQuery", { callback_query_id: heard.callbackId, text: text.slice(0, 190) });
      }
    } catch (error) {
      services.log("warn", `update ${update.update_id} was not taken: ${(error as Error).message.slice(0, 300)}`);
    }
  }

  /**
   * One Bot API call that changes something. Retried only when Telegram says it did not take it
   * (429, 5xx, no connection); after a timeout it may have, so it is never sent again.
   */
  private async send<T>(method: string, params: Record<string, unknown>): Promise<T> {
    const api = this.api;
    if (!api)
      throw new ToolError("NO_TOKEN", "No Telegram bot token is stored; run `carapace channel token telegram`.");
    for (let attempt = 1; ; attempt++) {
      try {
        return await api.call<T>(method, params, SEND_TIMEOUT_MS, this.stop.signal);
      } catch (error) {
        const retry =
          error instanceof BotApiError &&
          (error.kind === "rate_limited" || error.kind === "unavailable") &&
          attempt < SEND_ATTEMPTS &&
          !this.stop.signal.aborted;
        if (!retry) {
          const kind = error instanceof BotApiError ? error.kind : "failed";
          this.services?.log("warn", `Telegram ${method}: ${describe(error)}`);
          throw new ToolError("TELEGRAM_FAILED", `Telegram did not take the ${method} request (${kind}).`, {
            retriable: kind !== "refused",
          });
        }
        await sleep(backoffMs(error, attempt), this.stop.signal);
      }
    }
  }

  private async sendText(chat: string, text: string, replyTo?: string): Promise<DeliveryReceipt> {
    let last: { message_id?: number } | undefined;
    for (const [i, part] of splitMessage(text).entries()) {
      last = await this.send<{ message_id?: number }>("sendMessage", {
        chat_id: chat,
        text: part,
        ...(i === 0 && replyTo
          ? { reply_parameters: { message_id: Number(replyTo), allow_sending_without_reply: true } }
          : {}),
      });
    }
    return last?.message_id === undefined ? {} : { message: String(last.message_id) };
  }

  async deliver(delivery: ChannelDelivery): Promise<DeliveryReceipt | undefined> {
    switch (delivery.kind) {
      case "text":
        return this.sendText(delivery.chat, delivery.text, delivery.reply_to);
      case "typing":
        await this.send("sendChatAction", { chat_id: delivery.chat, action: "typing" }).catch(() => {});
        return undefined;
      case "buttons": {
        const sent = await this.send<{ message_id?: number }>("sendMessage", {
          chat_id: delivery.chat,
          text: fitOneMessage(delivery.text),
          reply_markup: {
            inline_keyboard: [delivery.buttons.map((b) => ({ text: b.label, callback_data: b.token }))],
          },
        });
        return sent?.message_id === undefined ? {} : { message: String(sent.message_id) };
      }
      case "edit":
        await this.send("editMessageText", {
          chat_id: delivery.chat,
          message_id: Number(delivery.message),
          text: fitOneMessage(delivery.text),
        });
        return undefined;
    }
  }

  async handleToolInvocation(tool: string, args: Record<string, unknown>, _context: ToolContext): Promise<unknown> {
    if (tool !== "telegram.send")
      throw new ToolError(
        "UNSUPPORTED_TOOL",
        `The Telegram plugin has no tool named ${JSON.stringify(tool.slice(0, 64))}.`,
      );
    const chat = String(args.chat_id);
    const receipt = await this.sendText(chat, String(args.text));
    return { sent: true, chat_id: chat, ...(receipt.message ? { message_id: receipt.message } : {}) };
  }

  async shutdown(): Promise<void> {
    this.stop.abort();
    await this.loop?.catch(() => {});
  }
}
