import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseIpcArgs } from "../../src/ipc/args.ts";
import { parseForwardArgs, startForwarder } from "../../src/ipc/forward.ts";

const ipcBin = process.env.CARAPACE_TEST_IPC ?? join(import.meta.dir, "../../dist/ipc");
const binSkip = existsSync(ipcBin) ? null : `${ipcBin} is missing (run: bun run build)`;
if (binSkip) console.warn(`[skip] ipc forward through the compiled binary: ${binSkip}`);

let dir: string;
let socketPath: string;
const encoder = new TextEncoder();
/** Released by the test to let the Unix-socket server send the second half of its stream. */
let release: () => void = () => {};
let server: ReturnType<typeof Bun.serve>;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "fwd-"));
  socketPath = join(dir, "egress.sock");
  server = Bun.serve({
    unix: socketPath,
    async fetch(req) {
      const url = new URL(req.url);
      if (url.pathname === "/stream") {
        const released = new Promise<void>((r) => {
          release = r;
        });
        return new Response(
          new ReadableStream({
            async start(c) {
              c.enqueue(encoder.encode("data: first\n\n"));
              await released;
              c.enqueue(encoder.encode("data: second\n\n"));
              c.close();
            },
          }),
          { headers: { "content-type": "text/event-stream" } },
        );
      }
      const body = await req.text();
      return Response.json(
        { method: req.method, path: url.pathname + url.search, headers: Object.fromEntries(req.headers), body },
        { status: url.pathname === "/teapot" ? 418 : 200, headers: { "x-from": "socket" } },
      );
    },
  });
});
afterAll(async () => {
  await server.stop(true);
  rmSync(dir, { recursive: true, force: true });
});

interface Echo {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

/** The relay behaviour, checked the same way against the in-process and the compiled forwarder. */
async function checkRelay(base: string): Promise<void> {
  const big = "x".repeat(3 * 1024 * 1024);
  const res = await fetch(`${base}/v1/messages?beta=true`, {
    method: "POST",
    headers: { "x-api-key": "session-token", "content-type": "application/json" },
    body: JSON.stringify({ big }),
  });
  expect(res.status).toBe(200);
  expect(res.headers.get("x-from")).toBe("socket");
  const echo = (await res.json()) as Echo;
  expect(echo.method).toBe("POST");
  expect(echo.path).toBe("/v1/messages?beta=true");
  expect(echo.headers["x-api-key"]).toBe("session-token");
  expect(echo.body.length).toBe(big.length + 10);

  const teapot = await fetch(`${base}/teapot`);
  expect(teapot.status).toBe(418);
  expect(((await teapot.json()) as Echo).method).toBe("GET");

  const streamed = await fetch(`${base}/stream`, { method: "POST", body: "{}" });
  const reader = (streamed.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  // The first event arrives while the server still holds the second: nothing is buffered on the way.
  expect(decoder.decode((await reader.read()).value)).toBe("data: first\n\n");
  release();
  let rest = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    rest += decoder.decode(value);
  }
  expect(rest).toBe("data: second\n\n");
}

describe("ipc forward: arguments", () => {
  test("only 127.0.0.1 and an absolute socket path are accepted", () => {
    expect(parseForwardArgs(["--listen", "127.0.0.1:8787", "--socket", "/run/carapace/egress.sock"])).toEqual({
      ok: true,
      value: { host: "127.0.0.1", port: 8787, socket: "/run/carapace/egress.sock" },
    });
    for (const argv of [
      ["--listen", "0.0.0.0:8787", "--socket", "/s"],
      ["--listen", "127.0.0.1:70000", "--socket", "/s"],
      ["--listen", "127.0.0.1:8787", "--socket", "relative.sock"],
      ["--listen", "127.0.0.1:8787"],
      ["--listen", "127.0.0.1:8787", "--socket", "/s", "--extra"],
    ]) {
      expect(parseForwardArgs(argv).ok).toBe(false);
    }
    expect(parseIpcArgs(["forward", "--listen", "127.0.0.1:1"])).toEqual({
      kind: "forward",
      argv: ["--listen", "127.0.0.1:1"],
    });
  });
});

describe("ipc forward: in process", () => {
  let stop: () => Promise<void> = async () => {};
  afterEach(() => stop());

  test("relays requests, statuses, headers and streams both ways", async () => {
    const fwd = startForwarder({ host: "127.0.0.1", port: 0, socket: socketPath });
    stop = fwd.stop;
    await checkRelay(`http://127.0.0.1:${fwd.port}`);
  });

  test("a missing socket (session ended) is a 502 in the Messages API error shape", async () => {
    const fwd = startForwarder({ host: "127.0.0.1", port: 0, socket: join(dir, "gone.sock") });
    stop = fwd.stop;
    const res = await fetch(`http://127.0.0.1:${fwd.port}/v1/messages`, { method: "POST", body: "{}" });
    expect(res.status).toBe(502);
    expect(((await res.json()) as { error: { type: string } }).error.type).toBe("api_error");
  });
});

describe.skipIf(binSkip !== null)("ipc forward: the compiled binary", () => {
  test("announces its port, relays with streaming, exits 0 on SIGTERM", async () => {
    const t0 = performance.now();
    const proc = Bun.spawn([ipcBin, "forward", "--listen", "127.0.0.1:0", "--socket", socketPath], {
      stdout: "pipe",
      stderr: "pipe",
    });
    try {
      const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
      const line = new TextDecoder().decode((await reader.read()).value);
      const port = /listening on 127\.0\.0\.1:(\d+)/.exec(line)?.[1];
      expect(port).toBeDefined();
      console.log(`ipc forward ready in ${Math.round(performance.now() - t0)} ms`);
      await checkRelay(`http://127.0.0.1:${port}`);
    } finally {
      proc.kill("SIGTERM");
    }
    expect(await proc.exited).toBe(0);
  });

  test("usage errors exit 2 with the usage text", () => {
    const run = Bun.spawnSync([ipcBin, "forward", "--listen", "0.0.0.0:80", "--socket", socketPath]);
    expect(run.exitCode).toBe(2);
    expect(run.stderr.toString()).toContain("[IPC] Error: --listen must be 127.0.0.1");
  });
});
