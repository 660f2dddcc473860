/**
 * What each user of the core may reach, and nothing more: the server hands each one its own narrow
 * interface at composition (constructor injection), so none of them reaches through the server.
 */

import type { ToolEntry } from "../plugins/catalog.ts";
import type { McpServerView } from "../plugins/mcp/status-view.ts";
import type { ChannelDelivery, DeliveryReceipt } from "../plugins/sdk/types.ts";
import type { Envelope, SessionIdentity } from "../protocol/envelope.ts";
import type { ReplyFrame } from "../protocol/reply.ts";
import type { ConfirmationGate } from "./confirmations.ts";
import type { Publish } from "./events.ts";
import type { Checkpoint } from "./response/audit-checkpoint.ts";
import type { AuditLog } from "./response/audit-log.ts";

/** A session as the one who opened it sees it: who it is and where its socket is. */
export interface OpenedSession {
  readonly id: string;
  readonly identity: SessionIdentity;
  readonly socketPath: string;
}

/** Opening and closing sessions: each audited and published. */
export interface SessionDoor {
  /**
   * `agentUser` (uid:gid): the socket is handed to the container's unprivileged user. `reserved`: the id
   * a pre-started container's directory was provisioned under, claimed by this session.
   */
  open(group: string, source: string, agentUser?: string, reserved?: string): OpenedSession;
  close(id: string): boolean;
}

export interface EventsPort {
  publish: Publish;
  /** `wants` narrows the listener to some topics: an event nobody takes is never built. */
  onEvent(listener: (envelope: Envelope) => void, wants?: (topic: string) => boolean): () => void;
}

export type AuditWriter = Pick<AuditLog, "append" | "appendEvent">;

/** What a new session of a group is told: the tools it may call, their skills, the plugins' brief. */
export interface SessionBriefing {
  tools(group: string): ToolEntry[];
  skills(group: string): Record<string, string>;
  /** Asked of the plugins that offer one, each within `budgetMs`; null when there is none. */
  brief(group: string, budgetMs: number): Promise<string | null>;
}

/** What the agent manager uses of the core. */
export interface AgentServices {
  readonly events: EventsPort;
  readonly sessions: SessionDoor;
  readonly audit: AuditWriter;
  readonly briefing: SessionBriefing;
  readonly approvals: Pick<ConfirmationGate, "subscribe">;
}

/** What the scheduler uses of the core: events, the audit log, and a place for its agent tools. */
export interface SchedulerServices {
  readonly events: EventsPort;
  readonly audit: AuditWriter;
  /** Adds the core's own tools (the scheduler's task tools) to the catalog once they exist. */
  registerTools(tools: readonly ToolEntry[]): void;
  /** Sends through the plugin that provides `channel` (a task's answer to the chat it names). */
  deliver(channel: string, delivery: ChannelDelivery): Promise<DeliveryReceipt>;
}

/** `carapace status`: the running core at a glance. */
export interface CoreStatus {
  uptime_s: number;
  sessions: { id: string; group: string; source: string; inflight: number }[];
  pending_confirmations: number;
  tools: number;
  events_socket: string;
  dropped_frames: number;
  unwritten_audit_records: number;
}

/** What the control socket (the operator's CLI) uses of the core. */
export interface ControlServices {
  status(): CoreStatus;
  readonly sessions: SessionDoor;
  readonly approvals: Pick<ConfirmationGate, "list" | "pruneGone" | "show" | "answer">;
  /** The tools `group` may call. */
  toolsFor(group: string): ToolEntry[];
  callAsOperator(
    tool: string,
    args: unknown,
    group: string,
    caller?: { signal?: AbortSignal; alive?: () => boolean },
  ): Promise<ReplyFrame>;
  checkpoint(): Promise<Checkpoint | null>;
  checkpointCount(): number;
  /** The MCP servers run as plugins: state, tools with risk levels, refused tools. */
  mcpServers(): McpServerView[];
}
