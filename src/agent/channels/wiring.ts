/**
 * The channel router wired into a running core: it becomes the plugin host's channel desk and the
 * agent manager's follower of the turns it routed. Done before the plugins start, so a channel's
 * first message already finds its way.
 */
import { channelSettings } from "../../config/channel-keys.ts";
import { listCredentials } from "../../config/credentials.ts";
import type { Config } from "../../config/keys.ts";
import type { ChannelServices } from "../../core/channel-services.ts";
import type { AgentManager } from "../manager.ts";
import { ChannelRouter } from "./router.ts";

/** Credentials of the built-in channels, for `carapace channel status`. */
const CHANNEL_CREDENTIALS: Record<string, string> = { telegram: "telegram_bot_token" };

export function enabledChannels(config: Config): string[] {
  return Object.keys(config.channels).filter((name) => channelSettings(config.channels, name).enabled);
}

export function attachChannelRouter(
  home: string,
  config: Config,
  core: ChannelServices,
  agents: AgentManager,
): ChannelRouter {
  const channels = Object.fromEntries(
    Object.keys(config.channels).map((name) => [name, channelSettings(config.channels, name)]),
  );
  const router = new ChannelRouter({
    home,
    channels,
    credentialStored: (channel) => {
      const key = CHANNEL_CREDENTIALS[channel];
      return key !== undefined && listCredentials(home).includes(key);
    },
    core: {
      audit: (entry) => core.audit.append(entry),
      publish: (identity, topic, payload) => core.events.publish(identity, topic, payload),
      deliver: (channel, delivery) => core.deliver(channel, delivery),
      providerState: (channel) => core.providerState(channel),
      showConfirmation: (id) => core.approvals.show(id),
      answerConfirmation: (id, approve, approver, hash) => core.approvals.answer(id, approve, approver, hash),
      onDecision: (listener) => core.approvals.onDecision(listener),
    },
  });
  core.attachDesk(router);
  agents.followInbound((replyTo) => router.watcherFor(replyTo));
  return router;
}
