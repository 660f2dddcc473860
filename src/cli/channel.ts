/**
 * `carapace channel list|status|pair|unpair|token`: the chat channels of the running core. Pairing
 * shows a one-time code the owner sends to the bot in a private chat; the core then stores the
 * owner's user id (approvals go to them). The bot token is read from stdin or a hidden prompt.
 */
import { defineCommand } from "citty";
import { writeCredential } from "../config/credentials.ts";
import { singleLine } from "../core/response/terminal-text.ts";
import { maskSecret } from "./auth.ts";
import { control } from "./control-client.ts";
import { CliError, EXIT } from "./errors.ts";
import { printJson, withHome } from "./run-command.ts";
import { readSecret, SecretInputAborted } from "./secret-input.ts";

interface ChannelStatus {
  channel: string;
  enabled: boolean;
  plugin: string | null;
  token_stored: boolean | null;
  owner: { user: string; name: string; paired_at: string } | null;
  pairing: { expires_at: string } | null;
  chats: { chat: string; group: string; allow: number; unknown_sender: string }[];
  last_event_id: number;
}

const CHANNEL_CREDENTIALS: Record<string, string> = { telegram: "telegram_bot_token" };
const PAIR_POLL_MS = 1_000;

function channelArg(description: string) {
  return { type: "positional", description, required: true } as const;
}

function printStatus(s: ChannelStatus): void {
  const out = (line: string) => process.stdout.write(`${line}\n`);
  out(`${singleLine(s.channel)}: ${s.enabled ? "enabled" : "disabled"}, plugin ${s.plugin ?? "not running"}`);
  out(`  bot token: ${s.token_stored ? "stored" : `not stored (carapace channel token ${singleLine(s.channel)})`}`);
  out(
    `  owner: ${s.owner ? `user ${singleLine(s.owner.user)} (${singleLine(s.owner.name)}), paired ${singleLine(s.owner.paired_at)}` : "not paired"}`,
  );
  if (s.pairing) out(`  pairing code waiting until ${singleLine(s.pairing.expires_at)}`);
  if (s.chats.length === 0) out('  chats: none bound (add [channels.<name>.chats."<chat id>"] group = "…")');
  for (const c of s.chats)
    out(
      `  chat ${singleLine(c.chat)} -> group ${singleLine(c.group)}, ${c.allow} allowed sender(s), unknown senders: ${c.unknown_sender}`,
    );
}

const listCommand = defineCommand({
  meta: {
    name: "list",
    description: "List the configured channels with their state. Exit codes: 0 listed; 3 core not running.",
  },
  args: { json: { type: "boolean", description: "Print JSON", default: false } },
  run: ({ args }) =>
    withHome((home) => {
      const list = control(home, "channel.list") as ChannelStatus[];
      if (args.json) printJson(list);
      else if (list.length === 0)
        process.stdout.write("No channels are configured. Add [channels.telegram] to config.toml.\n");
      else for (const s of list) printStatus(s);
      return EXIT.ok;
    }),
});

const statusCommand = defineCommand({
  meta: {
    name: "status",
    description:
      "Show one channel: its plugin, whether the bot token is stored, the paired owner, the bound chats. Exit codes: 0 shown; 1 unknown channel; 3 core not running.",
  },
  args: {
    channel: channelArg("Channel name, e.g. telegram"),
    json: { type: "boolean", description: "Print JSON", default: false },
  },
  run: ({ args }) =>
    withHome((home) => {
      const s = control(home, "channel.status", { channel: args.channel }) as ChannelStatus;
      if (args.json) printJson(s);
      else printStatus(s);
      return EXIT.ok;
    }),
});

const pairCommand = defineCommand({
  meta: {
    name: "pair",
    description:
      "Show a one-time pairing code (valid 10 minutes, once) to send to the bot in a private chat; waits until the owner has paired.\n" +
      "Exit codes: 0 paired (or, with --no-wait, the code was shown); 1 the code expired or the channel is not enabled; 3 core not running.",
  },
  args: {
    channel: channelArg("Channel name, e.g. telegram"),
    wait: {
      type: "boolean",
      description: "Wait until the owner has sent the code (--no-wait returns at once)",
      default: true,
    },
    json: { type: "boolean", description: "Print JSON (the code and its expiry)", default: false },
  },
  run: ({ args }) =>
    withHome(async (home) => {
      const before = (control(home, "channel.status", { channel: args.channel }) as ChannelStatus).owner;
      const started = control(home, "channel.pair", { channel: args.channel }) as { code: string; expires_at: string };
      if (args.json) printJson(started);
      else {
        process.stdout.write(
          `Send this code to your bot in a private chat within 10 minutes (it works once):\n\n    /pair ${started.code}\n\n`,
        );
      }
      if (!args.wait) return EXIT.ok;
      for (;;) {
        await Bun.sleep(PAIR_POLL_MS);
        const s = control(home, "channel.status", { channel: args.channel }) as ChannelStatus;
        if (s.owner && s.owner.paired_at !== before?.paired_at) {
          if (!args.json)
            process.stdout.write(
              `Paired: user ${singleLine(s.owner.user)} (${singleLine(s.owner.name)}) is the owner now.\n`,
            );
          return EXIT.ok;
        }
        if (!s.pairing)
          throw new CliError(
            "CHANNEL",
            "the pairing code expired or was used up by wrong attempts",
            "run `carapace channel pair` again",
          );
      }
    }),
});

const unpairCommand = defineCommand({
  meta: {
    name: "unpair",
    description:
      "Forget the channel's owner: approvals no longer go to a chat until someone pairs again. Exit codes: 0 done; 1 unknown channel; 3 core not running.",
  },
  args: {
    channel: channelArg("Channel name, e.g. telegram"),
    json: { type: "boolean", description: "Print JSON", default: false },
  },
  run: ({ args }) =>
    withHome((home) => {
      const r = control(home, "channel.unpair", { channel: args.channel }) as { unpaired: boolean };
      if (args.json) {
        printJson(r);
        return EXIT.ok;
      }
      process.stdout.write(
        r.unpaired ? `The owner of ${singleLine(args.channel)} is forgotten.\n` : "No owner was paired.\n",
      );
      return EXIT.ok;
    }),
});

const tokenCommand = defineCommand({
  meta: {
    name: "token",
    description:
      "Store the channel's bot token (from @BotFather for telegram), read from stdin or a hidden prompt, never from the command line. " +
      "It is handed only to the channel's plugin process. Exit codes: 0 stored; 1 not writable; 2 unknown channel or empty input.",
  },
  args: {
    channel: channelArg("Channel name, e.g. telegram"),
    json: { type: "boolean", description: "Print JSON", default: false },
  },
  run: ({ args }) =>
    withHome(async (home) => {
      const key = CHANNEL_CREDENTIALS[args.channel];
      if (!key)
        throw new CliError(
          "CHANNEL",
          `no built-in channel "${singleLine(args.channel).slice(0, 32)}"`,
          "use telegram",
          EXIT.usage,
        );
      let value: string;
      try {
        value = await readSecret("Bot token (input hidden): ");
      } catch (error) {
        if (error instanceof SecretInputAborted) throw new CliError("CHANNEL", "aborted", "run it again", EXIT.usage);
        throw error;
      }
      if (!/^[0-9]{1,20}:[A-Za-z0-9_-]{20,200}$/.test(value))
        throw new CliError(
          "CHANNEL",
          "that does not look like a bot token (digits, a colon, then letters)",
          "copy it from @BotFather again",
          EXIT.usage,
        );
      writeCredential(home, key, value);
      if (args.json) {
        printJson({ stored: key, masked: maskSecret(value) });
        return EXIT.ok;
      }
      process.stdout.write(
        `Stored the ${args.channel} bot token ${maskSecret(value)} (credentials/${key}, 0600). Restart the core to use it.\n`,
      );
      return EXIT.ok;
    }),
});

export const channelCommand = defineCommand({
  meta: {
    name: "channel",
    description: "Chat channels (Telegram): list them, pair the owner, store the bot token.",
  },
  subCommands: {
    list: listCommand,
    status: statusCommand,
    pair: pairCommand,
    unpair: unpairCommand,
    token: tokenCommand,
  },
});
