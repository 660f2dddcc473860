import { rmSync } from "node:fs";
import { join } from "node:path";
import type { ReplyFrame } from "../../src/protocol/reply.ts";
import { RouterSocket } from "../../src/transport/sockets.ts";
import { tempHome } from "./core.ts";

/** One request as the scripted router saw it: the parsed body, or null when it was not JSON. */
export interface SeenRequest {
  body: Record<string, unknown> | null;
  raw: string;
}

/** What the router does with a request: `answer` sends a reply frame now or after `afterMs`. */
export type RouterScript = (request: SeenRequest, answer: (frame: ReplyFrame, afterMs?: number) => void) => void;

/**
 * A stand-in for a core's session socket, for tests of the `ipc` client: an async ROUTER in this
 * process (it never blocks the event loop, so a child `ipc` can talk to it) that records every request
 * and replies as `script` says. With no script it reads and never answers.
 */
export function scriptedRouter(script: RouterScript = () => {}) {
  const dir = tempHome();
  const socket = join(dir, "request.sock");
  const requests: SeenRequest[] = [];
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const router = new RouterSocket(`ipc://${socket}`, (peer, frames) => {
    // A DEALER's message arrives as [delimiter, body].
    const payload = frames[0]?.length === 0 ? frames[1] : frames[0];
    const raw = new TextDecoder().decode(payload ?? new Uint8Array());
    let body: Record<string, unknown> | null = null;
    try {
      body = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      body = null;
    }
    const request = { body, raw };
    requests.push(request);
    script(request, (frame, afterMs = 0) => {
      const send = () => router.send(peer, ["", JSON.stringify(frame)]);
      if (afterMs <= 0) return void send();
      const timer = setTimeout(() => {
        timers.delete(timer);
        send();
      }, afterMs);
      timers.add(timer);
    });
  });
  return {
    socket,
    requests,
    close() {
      for (const t of timers) clearTimeout(t);
      router.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The correlation of a request the router saw (for building its reply). */
export function correlationOf(request: SeenRequest): string {
  return String(request.body?.correlation ?? "");
}

export type ScriptedRouter = ReturnType<typeof scriptedRouter>;
