import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GroupLedger, sessionBudget } from "../../src/agent/egress-budget.ts";
import {
  type EgressAuditEvent,
  type EgressCredential,
  type EgressProxy,
  startEgressProxy,
} from "../../src/agent/egress-proxy.ts";
import { startScriptedModel } from "../../src/agent/scripted-model.ts";

const TOKEN = "session-token-0123456789abcdef";
const REAL_KEY = "sk-ant-real-key-never-in-the-container-9876";
const credential = async (): Promise<EgressCredential> => ({ header: "x-api-key", value: REAL_KEY });

interface Seen {
  path: string;
  headers: Record<string, string>;
  body: string;
}

let dir: string;
let socketPath: string;
const cleanups: (() => Promise<void> | void)[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "egress-"));
  socketPath = join(dir, "egress.sock");
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  rmSync(dir, { recursive: true, force: true });
});

/** A loopback upstream recording what it receives; `reply` decides the answer. */
function fakeUpstream(reply: (req: Request) => Response | Promise<Response> = () => Response.json({ ok: true })) {
  const seen: Seen[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      seen.push({
        path: url.pathname + url.search,
        headers: Object.fromEntries(req.headers),
        body: await req.clone().text(),
      });
      return reply(req);
    },
  });
  cleanups.push(() => server.stop(true));
  return { url: `http://127.0.0.1:${server.port}`, allow: `127.0.0.1:${server.port}`, seen };
}

async function proxy(
  upstream: { url: string; allow: string },
  extra: Partial<Parameters<typeof startEgressProxy>[0]> = {},
) {
  const audits: EgressAuditEvent[] = [];
  const p: EgressProxy = await startEgressProxy({
    socketPath,
    token: TOKEN,
    upstream: upstream.url,
    allowlist: [upstream.allow],
    credential,
    onAudit: (e) => audits.push(e),
    ...extra,
  });
  cleanups.push(() => p.close());
  return { p, audits };
}

function call(path: string, init: RequestInit & { token?: string | null; bearer?: boolean } = {}) {
  const headers = new Headers(init.headers);
  const token = init.token === undefined ? TOKEN : init.token;
  if (token !== null) {
    if (init.bearer) headers.set("authorization", `Bearer ${token}`);
    else headers.set("x-api-key", token);
  }
  headers.set("content-type", "application/json");
  headers.set("anthropic-version", "2023-06-01");
  return fetch(`http://localhost${path}`, {
    unix: socketPath,
    method: init.method ?? "POST",
    headers,
    body: init.method === "GET" ? null : (init.body ?? JSON.stringify({ model: "m", messages: [] })),
  });
}

/** Waits until the audit event of a streamed call arrives (it is written when the body ends). */
async function auditCount(audits: EgressAuditEvent[], n: number): Promise<void> {
  for (let i = 0; i < 4000 && audits.length < n; i++) await Bun.sleep(5);
}

describe("egress proxy: start-up", () => {
  test("refuses an upstream that is not on the allowlist, naming the fix", async () => {
    const up = fakeUpstream();
    await expect(
      startEgressProxy({
        socketPath,
        token: TOKEN,
        upstream: up.url,
        allowlist: ["api.anthropic.com:443"],
        credential,
      }),
    ).rejects.toThrow(
      /\[EGRESS\] Error: the upstream 127\.0\.0\.1:\d+ is not in \[network\] upstream_allowlist.*Fix: add/,
    );
  });

  test("refuses an upstream URL with credentials or a query", async () => {
    for (const upstream of [
      "https://user:pw@api.anthropic.com",
      "https://api.anthropic.com/?x=1",
      "ftp://api.anthropic.com",
    ]) {
      await expect(
        startEgressProxy({ socketPath, token: TOKEN, upstream, allowlist: ["api.anthropic.com:443"], credential }),
      ).rejects.toThrow(/\[EGRESS\] Error:/);
    }
  });

  test("the socket is private to its owner (0600)", async () => {
    await proxy(fakeUpstream());
    expect(statSync(socketPath).mode & 0o777).toBe(0o600);
  });
});

describe("egress proxy: refusals", () => {
  test("a missing or wrong session token is refused with 401 and audited, never reaching upstream", async () => {
    const up = fakeUpstream();
    const { p, audits } = await proxy(up);
    const missing = await call("/v1/messages", { token: null });
    const wrong = await call("/v1/messages", { token: "session-token-0123456789abcdeX" });
    const wrongBearer = await call("/v1/messages", { token: "nope", bearer: true });
    expect([missing.status, wrong.status, wrongBearer.status]).toEqual([401, 401, 401]);
    expect(((await missing.json()) as { error: { type: string } }).error.type).toBe("authentication_error");
    expect(up.seen).toHaveLength(0);
    expect(audits).toHaveLength(3);
    expect(audits.every((a) => a.outcome === "refused" && a.status === 401)).toBe(true);
    expect(p.stats()).toEqual({ calls: 3, refused: 3, tokens: 0 });
  });

  test("only POST /v1/messages and /v1/messages/count_tokens pass; other paths, methods and queries are refused", async () => {
    const up = fakeUpstream();
    const { audits } = await proxy(up);
    const cases: [string, string, number][] = [
      ["/v1/complete", "POST", 404],
      ["/v1/models", "GET", 404],
      ["/v1/messages/batches", "POST", 404],
      ["/v1/messages/../files", "POST", 404],
      ["/v1/messages", "GET", 405],
      ["/v1/messages", "PUT", 405],
      ["/v1/messages?beta=true&redirect=evil", "POST", 403],
    ];
    for (const [path, method, status] of cases) {
      const res = await call(path, { method });
      expect({ path, method, status: res.status }).toEqual({ path, method, status });
    }
    expect(up.seen).toHaveLength(0);
    expect(audits.map((a) => a.outcome)).toEqual(cases.map(() => "refused"));
    expect(audits.map((a) => a.status)).toEqual(cases.map(([, , s]) => s));
  });

  test("a body over the cap is refused with 413, declared or streamed", async () => {
    const up = fakeUpstream();
    const { audits } = await proxy(up, { maxBodyBytes: 1024 });
    const declared = await call("/v1/messages", { body: "x".repeat(2048) });
    expect(declared.status).toBe(413);
    const chunks = [new Uint8Array(700).fill(97), new Uint8Array(700).fill(98)];
    const streamed = await call("/v1/messages", {
      body: new ReadableStream({
        pull(c) {
          const next = chunks.shift();
          if (next) c.enqueue(next);
          else c.close();
        },
      }),
    });
    expect(streamed.status).toBe(413);
    const small = await call("/v1/messages", { body: "x".repeat(1000) });
    expect(small.status).toBe(200);
    expect(up.seen).toHaveLength(1);
    expect(audits.map((a) => [a.status, a.outcome])).toEqual([
      [413, "refused"],
      [413, "refused"],
      [200, "forwarded"],
    ]);
  });

  test("no stored credential: 503 with the command that fixes it", async () => {
    const up = fakeUpstream();
    await proxy(up, { credential: async () => null });
    const res = await call("/v1/messages");
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain("carapace auth api-key");
    expect(up.seen).toHaveLength(0);
  });
});

describe("egress proxy: forwarding", () => {
  test("the upstream sees the real credential and never the session token; the container never sees the key", async () => {
    const up = fakeUpstream(
      () =>
        new Response(JSON.stringify({ id: "msg_1", usage: { input_tokens: 3, output_tokens: 4 } }), {
          headers: { "content-type": "application/json", connection: "close", "x-upstream": "yes" },
        }),
    );
    const { audits } = await proxy(up);
    const res = await call("/v1/messages?beta=true", {
      headers: { "anthropic-beta": "tools-2024", "proxy-authorization": "Basic abc", cookie: "c=1" },
      body: JSON.stringify({ model: "m", messages: [{ role: "user", content: "hi" }] }),
    });
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(res.headers.get("x-upstream")).toBe("yes");
    const [seen] = up.seen;
    expect(seen?.path).toBe("/v1/messages?beta=true");
    expect(seen?.headers["x-api-key"]).toBe(REAL_KEY);
    expect(seen?.headers["anthropic-version"]).toBe("2023-06-01");
    expect(seen?.headers["anthropic-beta"]).toBe("tools-2024");
    expect(seen?.headers["proxy-authorization"]).toBeUndefined();
    expect(seen?.headers.cookie).toBeUndefined();
    expect(JSON.stringify(seen)).not.toContain(TOKEN);
    expect(seen?.body).toContain('"content":"hi"');
    // Nothing the container receives carries the real key.
    expect(text + JSON.stringify(Object.fromEntries(res.headers))).not.toContain(REAL_KEY);
    await auditCount(audits, 1);
    expect(audits).toEqual([
      {
        method: "POST",
        path: "/v1/messages?beta=true",
        status: 200,
        outcome: "forwarded",
        requestBytes: seen?.body.length ?? -1,
        inputTokens: 3,
        outputTokens: 4,
      },
    ]);
    expect(JSON.stringify(audits)).not.toContain(REAL_KEY);
    expect(JSON.stringify(audits)).not.toContain(TOKEN);
  });

  test("an OAuth credential replaces a Bearer session token", async () => {
    const up = fakeUpstream();
    await proxy(up, { credential: async () => ({ header: "authorization", value: "Bearer oauth-real" }) });
    expect((await call("/v1/messages/count_tokens", { bearer: true })).status).toBe(200);
    expect(up.seen[0]?.headers.authorization).toBe("Bearer oauth-real");
    expect(up.seen[0]?.headers["x-api-key"]).toBeUndefined();
  });

  test("upstream errors pass through unchanged (status and body)", async () => {
    const up = fakeUpstream(() =>
      Response.json({ type: "error", error: { type: "overloaded_error", message: "busy" } }, { status: 529 }),
    );
    const { audits } = await proxy(up);
    const res = await call("/v1/messages");
    expect(res.status).toBe(529);
    expect(((await res.json()) as { error: { type: string } }).error.type).toBe("overloaded_error");
    await auditCount(audits, 1);
    expect(audits[0]).toMatchObject({ status: 529, outcome: "forwarded" });
  });

  test("SSE flows through as it arrives, not buffered", async () => {
    let release: () => void = () => {};
    const released = new Promise<void>((r) => {
      release = r;
    });
    const encoder = new TextEncoder();
    const up = fakeUpstream(
      () =>
        new Response(
          new ReadableStream({
            async start(c) {
              c.enqueue(
                encoder.encode(
                  'event: message_start\ndata: {"type":"message_start","message":{"usage":{"input_tokens":10,"output_tokens":1}}}\n\n',
                ),
              );
              await released;
              c.enqueue(
                encoder.encode('event: message_delta\ndata: {"type":"message_delta","usage":{"output_tokens":7}}\n\n'),
              );
              c.close();
            },
          }),
          { headers: { "content-type": "text/event-stream" } },
        ),
    );
    const { p, audits } = await proxy(up);
    const res = await call("/v1/messages", { body: JSON.stringify({ stream: true }) });
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    const first = await reader.read();
    // The first event arrived while the upstream is still holding back the second.
    expect(decoder.decode(first.value)).toContain("message_start");
    expect(audits).toHaveLength(0);
    release();
    let rest = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += decoder.decode(value);
    }
    expect(rest).toContain("message_delta");
    await auditCount(audits, 1);
    expect(audits[0]).toMatchObject({ outcome: "forwarded", inputTokens: 10, outputTokens: 7 });
    expect(p.stats().tokens).toBe(17);
  });

  test("a stream the container abandons midway is still audited once", async () => {
    const encoder = new TextEncoder();
    const up = fakeUpstream(
      () =>
        new Response(
          new ReadableStream({
            async pull(c) {
              c.enqueue(encoder.encode('event: ping\ndata: {"type":"ping"}\n\n'));
              await Bun.sleep(20);
            },
          }),
          { headers: { "content-type": "text/event-stream" } },
        ),
    );
    const { audits } = await proxy(up);
    const res = await call("/v1/messages");
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    await reader.cancel();
    await auditCount(audits, 1);
    await Bun.sleep(50);
    expect(audits).toHaveLength(1);
    expect(audits[0]).toMatchObject({ outcome: "forwarded", status: 200 });
  });

  test("the token budget: once used up, calls are refused with 429", async () => {
    const model = await startScriptedModel({ turns: [{ text: "one" }, { text: "two" }], expectKey: REAL_KEY });
    cleanups.push(() => model.close());
    const { p, audits } = await proxy({ url: model.url, allow: new URL(model.url).host }, { tokenBudget: 1 });
    const first = await call("/v1/messages", { body: JSON.stringify({ model: "m", stream: true, messages: [] }) });
    expect(first.status).toBe(200);
    expect(await first.text()).toContain("message_stop");
    await auditCount(audits, 1);
    expect(p.stats().tokens).toBeGreaterThan(1);
    const second = await call("/v1/messages", { body: JSON.stringify({ model: "m", stream: true, messages: [] }) });
    expect(second.status).toBe(429);
    expect(((await second.json()) as { error: { type: string } }).error.type).toBe("rate_limit_error");
    expect(audits.at(-1)).toMatchObject({ status: 429, outcome: "refused" });
    expect(model.requests).toHaveLength(1);
    expect(model.requests[0]?.headers["x-api-key"]).toBe(REAL_KEY);
  });

  test("a session's request budget reached mid-session stops forwarding, audited with the budget's name", async () => {
    const model = await startScriptedModel({
      turns: [{ text: "one" }, { text: "two" }, { text: "three" }],
      expectKey: REAL_KEY,
    });
    cleanups.push(() => model.close());
    const limits = { sessionTokens: 0, sessionRequests: 2, groupDailyTokens: 0, groupDailyRequests: 0 };
    const budget = sessionBudget("work", limits, new GroupLedger());
    const { audits } = await proxy({ url: model.url, allow: new URL(model.url).host }, { budget });
    const ask = () => call("/v1/messages", { body: JSON.stringify({ model: "m", stream: true, messages: [] }) });
    for (const _ of [1, 2]) {
      const r = await ask();
      expect(r.status).toBe(200);
      expect(await r.text()).toContain("message_stop");
      expect(model.requests.length).toBeGreaterThan(0);
    }
    const third = await ask();
    expect(third.status).toBe(429);
    const body = (await third.json()) as { type: string; error: { type: string; message: string } };
    expect(body).toMatchObject({ type: "error", error: { type: "rate_limit_error" } });
    expect(body.error.message).toContain("budget of 2 API requests");
    expect(body.error.message).toContain("[budget] session_requests");
    expect(model.requests).toHaveLength(2);
    await auditCount(audits, 3);
    expect(audits.at(-1)).toMatchObject({ status: 429, outcome: "refused", budget: "session_requests" });
  });

  test("a group's daily token budget is shared by its sessions: the second session is stopped", async () => {
    const model = await startScriptedModel({ turns: [{ text: "first" }, { text: "second" }], expectKey: REAL_KEY });
    cleanups.push(() => model.close());
    const ledger = new GroupLedger(async () => ({ tokens: 0, requests: 0 }));
    await ledger.prepare("work");
    const limits = { sessionTokens: 0, sessionRequests: 0, groupDailyTokens: 1, groupDailyRequests: 0 };
    const upstream = { url: model.url, allow: new URL(model.url).host };
    const a = await proxy(upstream, { budget: sessionBudget("work", limits, ledger) });
    const first = await call("/v1/messages", { body: JSON.stringify({ model: "m", stream: true, messages: [] }) });
    expect(await first.text()).toContain("message_stop");
    await auditCount(a.audits, 1);
    expect(ledger.spent("work").tokens).toBeGreaterThan(1);
    await a.p.close();
    // Another session of the same group, same day: refused before anything is forwarded.
    const b = await proxy(upstream, { budget: sessionBudget("work", limits, ledger) });
    const second = await call("/v1/messages", { body: JSON.stringify({ model: "m", stream: true, messages: [] }) });
    expect(second.status).toBe(429);
    expect(((await second.json()) as { error: { message: string } }).error.message).toContain("group work");
    expect(b.audits.at(-1)).toMatchObject({ outcome: "refused", budget: "group_daily_tokens" });
    expect(model.requests).toHaveLength(1);
    // Another group is not affected.
    expect(sessionBudget("home", limits, ledger).admit()).toBeNull();
  });

  test("a group's earlier spending today is read back (a restart does not reset the day)", async () => {
    const ledger = new GroupLedger(async (group, day) => ({
      tokens: group === "work" && day.length === 10 ? 7 : 0,
      requests: 3,
    }));
    await ledger.prepare("work");
    expect(ledger.spent("work")).toEqual({ tokens: 7, requests: 3 });
    const limits = { sessionTokens: 0, sessionRequests: 0, groupDailyTokens: 0, groupDailyRequests: 3 };
    expect(sessionBudget("work", limits, ledger).admit()?.budget).toBe("group_daily_requests");
  });

  test("an unreachable upstream is a 502, audited", async () => {
    const { audits } = await proxy({ url: "http://127.0.0.1:1", allow: "127.0.0.1:1" });
    const res = await call("/v1/messages");
    expect(res.status).toBe(502);
    expect(audits[0]).toMatchObject({ status: 502, outcome: "refused" });
  });

  test("after close() the socket is gone and a request fails at transport level", async () => {
    const up = fakeUpstream();
    const { p } = await proxy(up);
    expect((await call("/v1/messages")).status).toBe(200);
    await p.close();
    await expect(call("/v1/messages")).rejects.toThrow();
    expect(() => statSync(socketPath)).toThrow();
  });
});
