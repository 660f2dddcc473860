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

/**
 * Published events: each becomes an envelope on the PUB socket (`carapace events`, subscribers outside
 * the core) and is handed to the in-process listeners (plugins' handleEvent, the agent manager).
 */
export class EventBus {
  private readonly listeners = new Set<(envelope: Envelope) => void>();
  private socket: PubSocket | null = null;

  constructor(readonly path: string) {}

  bind(): void {
    this.socket = new PubSocket(`ipc://${this.path}`);
  }

  publish(identity: SessionIdentity, topic: string, payload: unknown, correlation: string | null = null): void {
    const envelope = buildEventEnvelope(identity, topic, payload, correlation);
    this.socket?.publish(topic, JSON.stringify(envelope));
    for (const listener of this.listeners) {
      try {
        listener(envelope);
      } catch (error) {
        logLine(`[CORE] Error: an event listener failed on ${topic}: ${sanitizeText(String(error))}`);
      }
    }
  }

  /** In-process consumers of published events; returns an unsubscribe. */
  onEvent(listener: (envelope: Envelope) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.socket?.close();
    this.socket = null;
  }
}
