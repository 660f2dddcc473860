import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ensureHome } from "../../src/config/home.ts";
import { CoreServer } from "../../src/core/server.ts";
import type { ToolEntry } from "../../src/plugins/catalog.ts";
import type { Limits } from "../../src/protocol/limits.ts";
import type { ReplyFrame } from "../../src/protocol/reply.ts";
import { DealerSocket } from "../../src/transport/sockets.ts";
import { limits as makeLimits } from "./factories.ts";

/** A real CoreServer in this process (real sockets, real audit files) for tests that need coverage. */
export async function inProcessCore(options: { limits?: Partial<Limits>; tools?: ToolEntry[]; hello?: boolean } = {}) {
  const home = mkdtempSync("/tmp/cpi-");
  ensureHome(home);
  const server = new CoreServer({
    home,
    limits: () => makeLimits(options.limits),
    helloEnabled: options.hello ?? true,
    ...(options.tools ? { tools: options.tools } : {}),
  });
  await server.start();
  const clients: DealerSocket[] = [];

  /** An async DEALER on a session socket; `request` resolves with the final (non-heartbeat) reply. */
  function client(socket: string) {
    const waiting = new Map<string, { resolve: (r: ReplyFrame) => void; heartbeats: ReplyFrame[] }>();
    const dealer = new DealerSocket(`ipc://${socket}`, (frames) => {
      const reply = JSON.parse(new TextDecoder().decode(frames[0])) as ReplyFrame;
      const w = waiting.get(reply.correlation);
      if (!w) return;
      if (reply.kind === "heartbeat") w.heartbeats.push(reply);
      else {
        waiting.delete(reply.correlation);
        w.resolve(reply);
      }
    });
    clients.push(dealer);
    return {
      request(topic: string, args: unknown, correlation: string = crypto.randomUUID()) {
        const heartbeats: ReplyFrame[] = [];
        const reply = new Promise<ReplyFrame>((resolve) => waiting.set(correlation, { resolve, heartbeats }));
        dealer.send([JSON.stringify({ topic, correlation, arguments: args })]);
        return { reply, heartbeats, correlation };
      },
      raw(frames: (string | Uint8Array)[]) {
        dealer.send(frames);
      },
      close: () => dealer.close(),
    };
  }

  return {
    home,
    server,
    /** The confirmation gate as the operator's control socket reaches it. */
    approvals: server.forControl().approvals,
    client,
    audit(group: string): Record<string, unknown>[] {
      const file = join(home, "data/audit", `${group}.jsonl`);
      if (!existsSync(file)) return [];
      const text = readFileSync(file, "utf8");
      // Only whole lines: a batch being written may be seen in part.
      return text
        .slice(0, text.lastIndexOf("\n") + 1)
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l));
    },
    async close() {
      for (const c of clients) c.close();
      await server.stop();
      rmSync(home, { recursive: true, force: true });
    },
  };
}
