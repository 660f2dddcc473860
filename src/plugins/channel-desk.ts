/**
 * What the plugin layer needs from the host's channel router (which sits above it, in the agent
 * layer): it decides which group a chat's message belongs to, from host configuration only, and
 * what a button press means. A channel plugin reports what it heard; it never names a group.
 */
export type InboundVerdict = { ok: true } | { ok: false; message: string };

export interface ChannelDesk {
  /** A channel plugin's `message.inbound`, heard outside any call: routed by the chat's binding, or refused. */
  inbound(plugin: string, channels: readonly string[], payload: unknown): Promise<InboundVerdict>;
  /** A press of a button the core asked the plugin to show. */
  button(plugin: string, channels: readonly string[], press: unknown): Promise<{ text: string }>;
}
