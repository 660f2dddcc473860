/**
 * The agent's LLM access end to end: real Claude Code → `ipc forward` on 127.0.0.1 →
 * the session's egress.sock → the host egress proxy (token swap) → a scripted model on host loopback.
 * First on the host through container/entrypoint.sh, then inside the locked-down image with
 * --network=none. The real credential exists only on the host side; the container gets the session token.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLAUDE_CACHE_DIR } from "../../build/image/agent.ts";
import { type EgressAuditEvent, type EgressProxy, startEgressProxy } from "../../src/agent/egress-proxy.ts";
import { type ScriptedModel, startScriptedModel } from "../../src/agent/scripted-model.ts";
import { grantSocketToAgent } from "../../src/container/agent-tree.ts";
import { CLAUDE_CODE_VERSION } from "../../src/container/image.ts";
import { ContainerLifecycle } from "../../src/container/lifecycle.ts";
import { agentRunSpec } from "../../src/container/lockdown.ts";
import { testAgentImage } from "./agent-image.ts";
import { realPodman, reportSkip, uniqueName } from "./podman-env.ts";
import { sessionFixture, TEST_AGENT_USER } from "./session-fixture.ts";

const ENTRYPOINT = join(import.meta.dir, "../../container/entrypoint.sh");
const ipcBin = process.env.CARAPACE_TEST_IPC ?? join(import.meta.dir, "../../dist/ipc");
const claudeBin = join(CLAUDE_CACHE_DIR, CLAUDE_CODE_VERSION, process.arch, "claude");
const REAL_KEY = "sk-ant-host-only-credential-7f3a";
const TOKEN = "carapace-session-token-egress-5b2e9c";

const hostSkip = !existsSync(ipcBin)
  ? `${ipcBin} is missing (run: bun run build)`
  : !existsSync(claudeBin)
    ? `Claude Code is not cached at ${claudeBin} (run: bun build/image/agent.ts --fetch-only)`
    : null;
reportSkip("egress chain through entrypoint.sh on the host", hostSkip);
const image = await testAgentImage();
reportSkip("egress chain inside the agent image", image.skipReason);

const homes: string[] = [];
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});
afterAll(() => {
  for (const h of homes) rmSync(h, { recursive: true, force: true });
});

async function chain(socketPath: string, text: string, kind: "x-api-key" | "authorization" = "x-api-key") {
  const model: ScriptedModel = await startScriptedModel({ turns: [{ text }], expectKey: REAL_KEY });
  closers.push(() => model.close());
  const audits: EgressAuditEvent[] = [];
  const proxy: EgressProxy = await startEgressProxy({
    socketPath,
    token: TOKEN,
    upstream: model.url,
    allowlist: [new URL(model.url).host],
    credential: async () =>
      kind === "x-api-key" ? { header: kind, value: REAL_KEY } : { header: kind, value: `Bearer ${REAL_KEY}` },
    onAudit: (e) => audits.push(e),
  });
  closers.push(() => proxy.close());
  return { model, proxy, audits };
}

function resultOf(stdout: string): Record<string, unknown> | undefined {
  return stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .find((e) => e.type === "result");
}

function freePort(): number {
  const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = probe.port ?? 0;
  probe.stop(true);
  return port;
}

function expectOnlyHostSawTheKey(model: ScriptedModel, audits: EgressAuditEvent[], oauth = false): void {
  expect(model.requests.length).toBeGreaterThanOrEqual(1);
  for (const r of model.requests) {
    expect(r.path).toStartWith("/v1/messages");
    if (oauth) expect(r.headers.authorization).toBe(`Bearer ${REAL_KEY}`);
    else expect(r.headers["x-api-key"]).toBe(REAL_KEY);
    expect(JSON.stringify(r)).not.toContain(TOKEN);
  }
  expect(audits.filter((a) => a.outcome === "forwarded").length).toBe(model.requests.length);
  expect(audits.every((a) => a.outcome === "forwarded")).toBe(true);
}

/**
 * Runs entrypoint.sh in its own session (setsid) with the real claude; the forwarder it leaves in the
 * background (in a container it dies with the container) is ended with its process group.
 */
async function runEntrypoint(home: string, stdin: string, env: Record<string, string> = {}) {
  const bin = join(home, "bin");
  mkdirSync(bin);
  symlinkSync(ipcBin, join(bin, "ipc"));
  const proc = Bun.spawn(["setsid", "bash", ENTRYPOINT, "-p", "--output-format", "stream-json", "--verbose"], {
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
    env: {
      PATH: `${bin}:/usr/bin:/bin`,
      HOME: home,
      TMPDIR: join(home, "tmp"),
      CARAPACE_CLAUDE_BIN: claudeBin,
      CARAPACE_PROMPT_FILE: ENTRYPOINT,
      CARAPACE_EGRESS_SOCKET: join(home, "egress.sock"),
      CARAPACE_FORWARD_PORT: String(freePort()),
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
      DISABLE_AUTOUPDATER: "1",
      ...env,
    },
  });
  proc.stdin.write(stdin);
  proc.stdin.end();
  let err = "";
  void new Response(proc.stderr).text().then((t) => {
    err = t;
  });
  const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
  try {
    process.kill(-proc.pid, "SIGTERM");
  } catch {
    // the group is already gone
  }
  await Bun.sleep(20);
  return { out, code, err };
}

describe.skipIf(hostSkip !== null)("egress chain on the host (entrypoint.sh, real claude, compiled ipc)", () => {
  test("claude answers through forwarder and proxy; the entrypoint sets ANTHROPIC_BASE_URL itself", async () => {
    const home = mkdtempSync(join(tmpdir(), "egress-host-"));
    homes.push(home);
    const { model, audits } = await chain(join(home, "egress.sock"), "hello from the scripted model");
    const t0 = performance.now();
    const r = await runEntrypoint(home, `ANTHROPIC_API_KEY\n${TOKEN}\n`);
    console.log(
      `host chain (entrypoint → claude → ipc forward → proxy → scripted model): ${Math.round(performance.now() - t0)} ms`,
    );
    expect({ code: r.code, err: r.err.slice(0, 400) }).toEqual({ code: 0, err: "" });
    expect(resultOf(r.out)).toMatchObject({ subtype: "success", result: "hello from the scripted model" });
    expectOnlyHostSawTheKey(model, audits);
  }, 60_000);

  test("with an OAuth credential the session token travels as CLAUDE_CODE_OAUTH_TOKEN and is swapped as a Bearer", async () => {
    const home = mkdtempSync(join(tmpdir(), "egress-host-"));
    homes.push(home);
    const { model, audits } = await chain(join(home, "egress.sock"), "hello over oauth", "authorization");
    const r = await runEntrypoint(home, `CLAUDE_CODE_OAUTH_TOKEN\n${TOKEN}\n`);
    expect({ code: r.code, err: r.err.slice(0, 400) }).toEqual({ code: 0, err: "" });
    expect(resultOf(r.out)).toMatchObject({ subtype: "success", result: "hello over oauth" });
    expectOnlyHostSawTheKey(model, audits, true);
    expect(model.requests[0]?.headers["anthropic-beta"]).toContain("oauth-2025-04-20");
  }, 60_000);

  test("without the session token the proxy refuses: claude ends in an error, the model is never called", async () => {
    const home = mkdtempSync(join(tmpdir(), "egress-host-"));
    homes.push(home);
    const { model, audits } = await chain(join(home, "egress.sock"), "never sent");
    // Claude Code retries a 401 with backoff for minutes by default; one attempt is enough here.
    const r = await runEntrypoint(home, "ANTHROPIC_API_KEY\nnot-the-session-token\n", { CLAUDE_CODE_MAX_RETRIES: "0" });
    expect(r.code).not.toBe(0);
    expect(resultOf(r.out)).toMatchObject({ is_error: true });
    expect(model.requests).toHaveLength(0);
    expect(audits.length).toBeGreaterThan(0);
    expect(audits.every((a) => a.outcome === "refused" && a.status === 401)).toBe(true);
  }, 60_000);

  test("a missing forwarder binary fails fast with the entrypoint's error, not a hang", async () => {
    const home = mkdtempSync(join(tmpdir(), "egress-host-"));
    homes.push(home);
    await chain(join(home, "egress.sock"), "unused");
    const t0 = performance.now();
    const proc = Bun.spawn(["bash", ENTRYPOINT, "-p"], {
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
      env: {
        PATH: "/usr/bin:/bin",
        TMPDIR: home,
        CARAPACE_CLAUDE_BIN: "/bin/true",
        CARAPACE_PROMPT_FILE: ENTRYPOINT,
        CARAPACE_EGRESS_SOCKET: join(home, "egress.sock"),
      },
    });
    proc.stdin.write(`ANTHROPIC_API_KEY\n${TOKEN}\n`);
    proc.stdin.end();
    const [err, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
    expect(code).toBe(64);
    expect(err).toContain("[ENTRYPOINT] Error: the API forwarder (ipc forward) did not start");
    // Sooner than the 5 s the entrypoint would wait for a forwarder that started but stayed silent.
    expect(performance.now() - t0).toBeLessThan(5_000);
  }, 30_000);
});

describe.skipIf(image.skipReason !== null)("egress chain inside the agent image (real Podman, --network=none)", () => {
  test("real claude in the locked container answers through the egress socket; the key never enters", async () => {
    const home = mkdtempSync(join(tmpdir(), "egress-pod-"));
    homes.push(home);
    const session = sessionFixture(home, "egress");
    const socketPath = join(session.sessionDir, "egress.sock");
    const { model, proxy, audits } = await chain(socketPath, "hello from inside the box");
    grantSocketToAgent(socketPath, TEST_AGENT_USER);
    const runtime = realPodman();
    const lifecycle = new ContainerLifecycle(runtime);
    const spec = agentRunSpec({ ...session, name: uniqueName("carapace-egress"), image: image.tag });
    expect(spec.network).toBe("none");
    let out = "";
    let err = "";
    const t0 = performance.now();
    const c = lifecycle.spawn(spec, {
      stdin: `ANTHROPIC_API_KEY\n${TOKEN}\n`,
      onStdout: (s) => {
        out += s;
      },
      onStderr: (s) => {
        err += s;
      },
    });
    const exit = await Promise.race([c.exited, Bun.sleep(45_000).then(() => c.stop())]);
    console.log(
      `container chain (podman run → claude → ipc forward → egress.sock → proxy → scripted model): ${Math.round(performance.now() - t0)} ms`,
    );
    expect({ code: exit.code, err: err.slice(0, 600) }).toEqual({ code: 0, err: "" });
    expect(resultOf(out)).toMatchObject({ subtype: "success", result: "hello from inside the box" });
    expectOnlyHostSawTheKey(model, audits);
    expect(out).not.toContain(REAL_KEY);
    expect(proxy.stats().refused).toBe(0);
  }, 60_000);
});
