/**
 * The core's answers to one plugin process's CoreServices requests. A request names only the core's
 * id of the call it is handling (its scope); the group, session and correlation come from the core's
 * record of that call, never from the plugin. With no live scope, group-shaped answers are empty.
 */
import type { AuditLog } from "../../core/response/audit-log.ts";
import { toAuditRecordView } from "../../core/response/audit-record.ts";
import { sanitizeText } from "../../core/response/sanitize.ts";
import { stripTerminalEscapes } from "../../core/response/terminal-text.ts";
import { mintIdentity, type SessionIdentity } from "../../protocol/envelope.ts";
import { GROUP_NAME } from "../../protocol/group-name.ts";
import { TO_CORE } from "../channel/messages.ts";
import type { ChannelDesk } from "../channel-desk.ts";
import type { Manifest } from "../manifest-schema.ts";
import { CHANNEL_TOPICS, safeAuditFilter } from "../services.ts";

export interface CallScope {
  readonly group: string | null;
  readonly sessionId: string | null;
  readonly correlation: string | null;
}

export interface ServiceDeskDeps {
  plugin: string;
  manifest: Manifest;
  audit: AuditLog;
  scope(id: unknown): CallScope | undefined;
  publish(identity: SessionIdentity, topic: string, payload: unknown, correlation: string | null): void;
  writeLog(line: string): void;
  /** The host's channel router, once the agent layer has attached one. */
  channels?(): ChannelDesk | null;
}

const MAX_EVENT_BYTES = 1024 * 1024;
const MAX_LOG_CHARS = 2000;

/** A service request the core turns down; its message goes back to the plugin, nothing is thrown. */
export class ServiceRefusal {
  constructor(readonly message: string) {}
}

function refuse(plugin: string, what: string, fix: string): ServiceRefusal {
  return new ServiceRefusal(`[PLUGINS] Error: plugin "${plugin}" ${what}. Fix: ${fix}.`);
}

export function serviceDesk(
  deps: ServiceDeskDeps,
): (topic: string, args: unknown) => Promise<unknown | ServiceRefusal> {
  const { plugin, manifest } = deps;
  const channels = manifest.provides.channels ?? [];
  const isChannel = channels.length > 0;
  const allowed = manifest.allowed_groups ?? ["*"];
  return async (topic, raw) => {
    const args = (typeof raw === "object" && raw !== null ? raw : {}) as Record<string, unknown>;
    const scope = deps.scope(args.scope);
    switch (topic) {
      case TO_CORE.auditLog: {
        if (!scope?.group) return [];
        await deps.audit.flush();
        const records = await deps.audit.query(scope.group, safeAuditFilter(args.filter as never));
        return records.map(toAuditRecordView);
      }
      case TO_CORE.publish:
        return publish(scope, args);
      case TO_CORE.button: {
        if (!isChannel) return refuse(plugin, "is not a channel plugin", 'declare "provides": {"channels": [...]}');
        const desk = deps.channels?.();
        if (!desk) return { text: "This button is no longer valid." };
        return desk.button(plugin, channels, args.press);
      }
      case TO_CORE.log: {
        const level = String(args.level);
        if (!["debug", "info", "warn", "error"].includes(level)) return null;
        const text = stripTerminalEscapes(sanitizeText(String(args.message))).slice(0, MAX_LOG_CHARS);
        deps.writeLog(`[plugin ${plugin}] ${level}: ${text}`);
        return null;
      }
      default:
        return refuse(plugin, `asked for an unknown service "${topic.slice(0, 64)}"`, "use the SDK's CoreServices");
    }
  };

  async function publish(scope: CallScope | undefined, args: Record<string, unknown>): Promise<null | ServiceRefusal> {
    const topic = String(args.topic);
    if (!isChannel)
      return refuse(plugin, "is not a channel plugin", 'declare "provides": {"channels": [...]} to publish events');
    if (!CHANNEL_TOPICS.includes(topic))
      return refuse(plugin, `may not publish "${topic.slice(0, 64)}"`, `publish one of ${CHANNEL_TOPICS.join(", ")}`);
    const asked = args.group;
    let group: string;
    if (scope?.group) {
      // Inside a call the event belongs to the caller: no other group can be named.
      if (asked !== undefined && asked !== scope.group)
        return refuse(plugin, "published an event for another group than its caller's", "publish without { group }");
      group = scope.group;
    } else if (topic === "message.inbound") {
      return inbound(args);
    } else {
      if (typeof asked !== "string" || !GROUP_NAME.test(asked))
        return refuse(plugin, "published an event without a valid group", "pass { group } with a lowercase group name");
      if (!allowed.includes("*") && !allowed.includes(asked))
        return refuse(
          plugin,
          `published an event for group "${asked}", which is not in its allowed_groups`,
          "add it there",
        );
      group = asked;
    }
    const size = Buffer.byteLength(JSON.stringify(args.payload ?? null));
    if (size > MAX_EVENT_BYTES)
      return refuse(plugin, `published an event of ${size} bytes`, `keep events under ${MAX_EVENT_BYTES} bytes`);
    const correlation = scope?.correlation ?? null;
    await deps.audit.append({
      kind: "event",
      outcome: "info",
      group,
      topic,
      correlation,
      detail: { plugin, bytes: size },
    });
    const session = scope?.sessionId ?? `plugin:${plugin}`;
    deps.publish(mintIdentity(session, group, `plugin:${plugin}`), topic, args.payload ?? null, correlation);
    return null;
  }

  /**
   * A message heard from a chat: its group is the one the host's configuration binds the chat to,
   * decided by the channel router. A plugin that names a group itself is refused and audited.
   */
  async function inbound(args: Record<string, unknown>): Promise<null | ServiceRefusal> {
    if (args.group !== undefined) {
      await deps.audit.append({
        kind: "event",
        outcome: "rejected",
        topic: "message.inbound",
        detail: { plugin, reason: "a channel plugin named a group; the chat's binding decides" },
      });
      return refuse(
        plugin,
        "named a group for an inbound message",
        "publish without { group }: the chat's binding in config.toml decides",
      );
    }
    const size = Buffer.byteLength(JSON.stringify(args.payload ?? null));
    if (size > MAX_EVENT_BYTES)
      return refuse(plugin, `published an event of ${size} bytes`, `keep events under ${MAX_EVENT_BYTES} bytes`);
    const desk = deps.channels?.();
    if (!desk)
      return refuse(plugin, "published a chat message to a core that routes no channels", "run `carapace start`");
    const verdict = await desk.inbound(plugin, channels, args.payload ?? null);
    return verdict.ok ? null : new ServiceRefusal(verdict.message);
  }
}
