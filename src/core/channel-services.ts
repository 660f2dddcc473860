/**
 * What the channel router (agent layer) may use of the core: the audit log, the event bus, the
 * pending approvals it answers for the owner, and the channel plugins it delivers through.
 */
import type { ChannelDesk } from "../plugins/channel-desk.ts";
import type { ChannelDelivery, DeliveryReceipt } from "../plugins/sdk/types.ts";
import type { ConfirmationGate } from "./confirmations.ts";
import type { AuditWriter, EventsPort } from "./core-services.ts";

export interface ChannelServices {
  readonly audit: AuditWriter;
  readonly events: EventsPort;
  readonly approvals: Pick<ConfirmationGate, "show" | "answer" | "onDecision">;
  /** Sends through the plugin that provides `channel` (InvokeFailure when it cannot). */
  deliver(channel: string, delivery: ChannelDelivery): Promise<DeliveryReceipt>;
  /** The state of the plugin that provides `channel`, or null when none does. */
  providerState(channel: string): string | null;
  /** Makes `desk` the one that decides what channel plugins' messages and button presses mean. */
  attachDesk(desk: ChannelDesk): void;
}
