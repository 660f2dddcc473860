import { join } from "node:path";
import { homePath } from "../config/home.ts";
import { buildEventEnvelope, type Envelope, type SessionIdentity } from "../protocol/envelope.ts";
import { PubSocket } from "../transport/sockets.ts";
import { logLine } from "./response/log-stream.ts";
import { sanitizeText } from "./response/sanitize.ts";

export type Publish = (identity: SessionIdentity, topic: string, payload: unknown, correlation?: string | null) => void;

/** The core's PUB socket: in run/sockets (0700), beside the session directories but never in one. */
export function eventsSocketPath(home: string): string {
  return join(homePath(home, "run/sockets"), "events.sock");
}

/** Which topics an in-process listener takes; the default takes every topic. */
export type TopicFilter = (topic: string) => boolean;
const EVERY_TOPIC: TopicFilter = () => true;

interface Listener {
  readonly take: (envelope: Envelope) => void;
  readonly wants: TopicFilter;
}

/**
 * Published events: each becomes an envelope on the PUB socket (`carapace events`, subscribers outside
 * the core) and is handed to the in-process listeners (plugins' handleEvent, the agent manager). An
 * event that no subscriber's prefix and no listener's filter takes is not built at all (most calls'
 * `call.completed` while nobody follows the feed).
 */
export class EventBus {
  private readonly listeners = new Set<Listener>();
  private socket: PubSocket | null = null;

  constructor(readonly path: string) {}

  bind(): void {
    this.socket = new PubSocket(`ipc://${this.path}`);
  }

  publish(identity: SessionIdentity, topic: string, payload: unknown, correlation: string | null = null): void {
    const remote = this.socket?.hasSubscriber(topic) === true;
    if (!remote && !this.wantedInProcess(topic)) return;
    const envelope = buildEventEnvelope(identity, topic, payload, correlation);
    if (remote) this.socket?.publish(topic, JSON.stringify(envelope));
    for (const listener of this.listeners) {
      if (!listener.wants(topic)) continue;
      try {
        listener.take(envelope);
      } catch (error) {
        logLine(`[CORE] Error: an event listener failed on ${topic}: ${sanitizeText(String(error))}`);
      }
    }
  }

  /** Whether an event on `topic` would reach anyone: a subscriber of the PUB socket or a listener. */
  wants(topic: string): boolean {
    return this.socket?.hasSubscriber(topic) === true || this.wantedInProcess(topic);
  }

  /** In-process consumers of published events, optionally only of some topics; returns an unsubscribe. */
  onEvent(listener: (envelope: Envelope) => void, wants: TopicFilter = EVERY_TOPIC): () => void {
    const entry = { take: listener, wants };
    this.listeners.add(entry);
    return () => this.listeners.delete(entry);
  }

  close(): void {
    this.socket?.close();
    this.socket = null;
  }

  private wantedInProcess(topic: string): boolean {
    for (const listener of this.listeners) if (listener.wants(topic)) return true;
    return false;
  }
}
