import { BlockingDealer } from "../../src/transport/blocking-dealer.ts";

/** Sends raw bytes on a session socket (a hostile client) and returns the parsed reply, or null at the timeout. */
export function rawRequest(
  socket: string,
  body: string | Uint8Array,
  timeoutMs = 15_000,
): Record<string, unknown> | null {
  const dealer = new BlockingDealer(`ipc://${socket}`);
  try {
    dealer.send(body);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) return null;
      const frames = dealer.receive(left);
      if (!frames?.[0]) return null;
      const reply = JSON.parse(new TextDecoder().decode(frames[0])) as Record<string, unknown>;
      if (reply.kind !== "heartbeat") return reply;
    }
  } finally {
    dealer.close();
  }
}

export function wire(topic: string, args: unknown, correlation: string = crypto.randomUUID()): string {
  return JSON.stringify({ topic, correlation, arguments: args });
}
