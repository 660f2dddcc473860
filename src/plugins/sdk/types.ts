import type { Envelope } from "../../protocol/envelope.ts";

export interface ToolContext {
  readonly group: string;
  readonly sessionId: string;
  readonly correlation: string;
  readonly timestamp: string;
  readonly source: string;
}

export interface BriefContext {
  readonly group: string;
}

export interface AuditFilter {
  correlation?: string;
  topic?: string;
  outcome?: string;
  limit?: number;
}

export interface AuditRecordView {
  seq: number;
  timestamp: string;
  kind: string;
  topic?: string;
  correlation?: string | null;
  outcome?: string;
  stage?: number;
  code?: string;
}

export interface ToolCatalogEntry {
  name: string;
  description: string;
  risk_level: "low" | "high";
  plugin: string;
}

export interface SessionInfoView {
  sessionId: string;
  group: string;
  plugins: { name: string; status: "healthy" | "failed"; source: string; category?: string; reason?: string }[];
}

/**
 * What the core asks a channel plugin to send to its chat service. Chats and users are the service's
 * own ids as strings. Button tokens are the core's unguessable references: the plugin hands them back
 * unchanged in answerButton() and never interprets them.
 */
export type ChannelDelivery =
  | { kind: "text"; chat: string; text: string; reply_to?: string }
  | { kind: "typing"; chat: string }
  | { kind: "buttons"; chat: string; text: string; buttons: { label: string; token: string }[] }
  | { kind: "edit"; chat: string; message: string; text: string };

/** What a delivery sent: the service's id of the message, when there is one (to edit it later). */
export interface DeliveryReceipt {
  message?: string;
}

/** A press of a button a channel plugin showed for the core (from buttons deliveries). */
export interface ButtonPress {
  channel: string;
  token: string;
  /** Who pressed it, as the chat service reports them. */
  user: { id: string; name?: string };
  chat: string;
}

/** Services a plugin gets at initialize(); every call is scoped to the calling request's group. */
export interface CoreServices {
  getAuditLog(filter?: AuditFilter): Promise<AuditRecordView[]>;
  getToolCatalog(): ToolCatalogEntry[];
  getSessionInfo(): SessionInfoView | null;
  readCredential(key: string): Promise<string | null>;
  publishEvent(topic: string, payload: unknown, options?: { group?: string }): Promise<void>;
  /**
   * Channel plugins: a button press, for the core to decide on. Resolves with the text to show the
   * person who pressed it (e.g. "Approved", or why they may not answer).
   */
  answerButton(press: ButtonPress): Promise<{ text: string }>;
  /** Directory for this plugin's per-group data (created on demand, group validated). */
  dataDir(feature: string): string;
  /** The plugin's own validated config section, or {}. */
  config(): Readonly<Record<string, unknown>>;
  log(level: "debug" | "info" | "warn" | "error", message: string): void;
}

export interface PluginHandler {
  initialize(services: CoreServices): Promise<void> | void;
  handleToolInvocation(tool: string, args: Record<string, unknown>, context: ToolContext): Promise<unknown> | unknown;
  handleEvent?(envelope: Envelope): Promise<void> | void;
  verify?(): Promise<{ ok: boolean; message?: string }> | { ok: boolean; message?: string };
  /**
   * Text for the read-only context of a new session of `context.group` (e.g. the memory brief), or
   * null. The core asks while it prepares the session and starts without it past a time budget.
   */
  sessionBrief?(context: BriefContext): Promise<string | null> | string | null;
  shutdown?(): Promise<void> | void;
  /** Channel plugins: send what the core asks to the chat service (an answer, typing, buttons). */
  deliver?(delivery: ChannelDelivery): Promise<DeliveryReceipt | undefined> | DeliveryReceipt | undefined;
}
