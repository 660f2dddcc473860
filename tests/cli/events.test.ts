/** `carapace events`: a real subscriber of the core's PUB socket, through the compiled binary. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { statSync } from "node:fs";
import { dirname, join } from "node:path";
import { eventLine } from "../../src/cli/events.ts";
import type { Envelope } from "../../src/protocol/envelope.ts";
import { SubSocket } from "../../src/transport/sockets.ts";
import { installPlugin } from "../fixtures/plugins/install.ts";
import { ensureBinaries } from "../harness/binaries.ts";
import { type RunningCore, startCore, tempHome } from "../harness/core.ts";

let core: RunningCore;
beforeAll(async () => {
  const home = tempHome();
  installPlugin(home, "high-risk");
  core = await startCore({ home });
});
afterAll(() => core.stop());

/** A child `carapace events …` whose stdout lines are collected as they arrive. */
function follow(args: string[]) {
  const proc = Bun.spawn([ensureBinaries().carapace, "events", ...args], {
    env: core.env,
    stdout: "pipe",
    stderr: "pipe",
  });
  const lines: string[] = [];
  void (async () => {
    let buffered = "";
    const decoder = new TextDecoder();
    for await (const chunk of proc.stdout as ReadableStream<Uint8Array>) {
      buffered += decoder.decode(chunk, { stream: true });
      const parts = buffered.split("\n");
      buffered = parts.pop() ?? "";
      lines.push(...parts);
    }
  })();
  return { proc, lines };
}

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(100);
  }
}

const envelopes = (lines: string[]) => lines.map((l) => JSON.parse(l) as Envelope<Record<string, unknown>>);

describe("carapace events", () => {
  test("--follow --json prints sessions, call outcomes and approvals as they happen", async () => {
    const feed = follow(["--follow", "--json"]);
    try {
      // A subscription takes effect once connected: open sessions until the feed shows one.
      const first = await until("the first session.opened", async () => {
        const s = await core.openSession("evt");
        await core.closeSession(s.id);
        return envelopes(feed.lines).find((e) => e.topic === "session.opened" && e.session === s.id) && s;
      });
      const closed = await until("its session.closed", () =>
        envelopes(feed.lines).find((e) => e.topic === "session.closed" && e.session === first.id),
      );
      expect(closed).toMatchObject({ group: "evt", type: "event", source: "cli" });

      const s = await core.openSession("evt");
      expect((await core.ipc(s.socket, "get_session_info")).code).toBe(0);
      expect((await core.ipc(s.socket, "no_such.tool")).code).not.toBe(0);
      await until("both call outcomes", () =>
        envelopes(feed.lines).filter((e) => e.topic === "call.completed" && e.session === s.id).length >= 2
          ? true
          : undefined,
      );
      const calls = envelopes(feed.lines).filter((e) => e.topic === "call.completed" && e.session === s.id);
      expect(calls.map((e) => e.payload)).toEqual([
        { tool: "get_session_info", ok: true },
        { tool: "no_such.tool", ok: false, code: expect.any(String) },
      ]);

      const call = Bun.spawn([ensureBinaries().carapace, "call", "high_risk.run", "--group", "evt"], {
        env: core.env,
        stdout: "ignore",
        stderr: "ignore",
      });
      const pending = await until("approval.pending", () =>
        envelopes(feed.lines).find((e) => e.topic === "approval.pending"),
      );
      expect(pending.payload).toMatchObject({
        tool: "high_risk.run",
        request_hash: expect.stringMatching(/^[0-9a-f]{64}$/),
      });
      expect(pending.group).toBe("evt");
      expect((await core.carapace(["deny", String(pending.payload.confirmation)])).code).toBe(0);
      await call.exited;
      const decided = await until("approval.decided", () =>
        envelopes(feed.lines).find((e) => e.topic === "approval.decided"),
      );
      expect(decided.payload).toMatchObject({ confirmation: pending.payload.confirmation, decision: "denied" });
      await core.closeSession(s.id);
    } finally {
      feed.proc.kill("SIGINT");
      expect(await feed.proc.exited).toBe(0);
    }
  }, 120_000);

  test("--topic and --group filter; without --follow the next matching event is printed and the command exits", async () => {
    const feed = follow(["--topic", "session.closed", "--group", "evt-b"]);
    await until("the filtered event", async () => {
      const other = await core.openSession("evt-a");
      await core.closeSession(other.id);
      const s = await core.openSession("evt-b");
      await core.closeSession(s.id);
      return feed.lines.length > 0 ? true : undefined;
    });
    expect(await feed.proc.exited).toBe(0);
    expect(feed.lines).toHaveLength(1);
    expect(feed.lines[0]).toMatch(/ session\.closed group=evt-b session=\S+/);
  }, 60_000);

  test("the feed is the operator's: owner-only, outside every session directory; a session socket carries no events", async () => {
    const eventsSock = join(core.home, "run/sockets/events.sock");
    expect(statSync(eventsSock).mode & 0o777).toBe(0o600);
    expect(statSync(dirname(eventsSock)).mode & 0o777).toBe(0o700);
    const s = await core.openSession("evt-c");
    // What a container sees is its session's directory, and the events socket is not in it.
    expect(dirname(s.socket)).not.toBe(dirname(eventsSock));
    const leaked: string[] = [];
    const fromSession = new SubSocket(`ipc://${s.socket}`, (topic) => leaked.push(topic));
    fromSession.subscribe("");
    const operator: string[] = [];
    const feed = new SubSocket(`ipc://${eventsSock}`, (topic) => operator.push(topic));
    feed.subscribe("");
    try {
      await until("events on the operator feed", async () => {
        const t = await core.openSession("evt-c");
        await core.closeSession(t.id);
        return operator.includes("session.closed") ? true : undefined;
      });
      expect(leaked).toEqual([]);
    } finally {
      fromSession.close();
      feed.close();
      await core.closeSession(s.id);
    }
  }, 60_000);

  test("a person's line has terminal escapes and line breaks removed", () => {
    const line = eventLine({
      id: "x",
      version: 1,
      type: "event",
      topic: "message.inbound",
      source: "plugin:chat",
      correlation: null,
      timestamp: "2026-01-01T00:00:00.000Z",
      group: "g",
      session: "s",
      payload: { text: "hi\u001b]0;owned\u0007\u001b[2J\nthere\u202e" },
    });
    expect(line).toBe("2026-01-01T00:00:00.000Z message.inbound group=g session=s text=hi there");
  });

  test("without a running core it exits 3 with a fix", async () => {
    const proc = Bun.spawn([ensureBinaries().carapace, "events"], {
      env: { ...core.env, CARAPACE_HOME: tempHome() },
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(await proc.exited).toBe(3);
    expect(await new Response(proc.stderr).text()).toMatch(/the core is not running\. Fix: start it/);
  });
});
