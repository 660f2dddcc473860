import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { installPlugin } from "../fixtures/plugins/install.ts";
import { type RunningCore, startCore, tempHome, waitForAudit } from "../harness/core.ts";
import { rawRequest, wire } from "../harness/raw.ts";
import { auditCount, auditMark, expectServing, FrameDealer, type Json, socketFilesUnder } from "./support.ts";

/**
 * Hostile callers with the fixture plugins: a caller that piles up hanging calls or high-risk confirmations, or
 * walks away from one, and a core stopped while a handler hangs.
 */

type Session = { id: string; socket: string; group: string };

async function pendingConfirmations(core: RunningCore): Promise<Json[]> {
  const r = await core.carapace(["approvals", "--json"]);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as Json[];
}

describe("hostile callers against slow and high-risk tools", () => {
  let core: RunningCore;

  beforeAll(async () => {
    const home = tempHome();
    installPlugin(home, "hang");
    installPlugin(home, "high-risk");
    core = await startCore({
      home,
      config: [
        "[security]",
        "handler_timeout_ms = 1500",
        "confirmation_timeout_ms = 20000",
        "max_inflight_per_session = 3",
        "max_pending_confirmations_per_session = 2",
        "rate_limit_per_minute = 6000",
        "rate_limit_burst = 100",
        "",
      ].join("\n"),
    });
  });
  afterAll(async () => {
    await core.stop();
  });

  test("hanging calls past max_inflight_per_session: RATE_LIMITED at stage 4, then PLUGIN_TIMEOUT at stage 6", async () => {
    const s: Session = await core.openSession("hangers");
    const other: Session = await core.openSession("bystander");
    const mark = auditMark(core, s.group);
    const dealer = new FrameDealer(s.socket);
    try {
      for (let i = 0; i < 5; i++) dealer.send(wire("tool.invoke.hang.run", {}));
      const early = await dealer.receiveMany(2, 10_000);
      expect(early.map((r) => (r.error as Json).code)).toEqual(["RATE_LIMITED", "RATE_LIMITED"]);
      for (const r of early) expect((r.error as Json).retry_after as number).toBeGreaterThanOrEqual(1);
      // While three handlers hang, another group is served at once.
      expectServing(other.socket);
      const late = await dealer.receiveMany(3, 15_000);
      expect(late.map((r) => r.error as Json).map((e) => [e.code, e.stage])).toEqual(
        Array(3).fill(["PLUGIN_TIMEOUT", 6]),
      );
    } finally {
      dealer.close();
    }
    const records = await auditCount(core, s.group, mark, (r) => r.outcome !== "info", 5);
    expect(records.map((r) => [r.code, r.stage]).sort()).toEqual([
      ["PLUGIN_TIMEOUT", 6],
      ["PLUGIN_TIMEOUT", 6],
      ["PLUGIN_TIMEOUT", 6],
      ["RATE_LIMITED", 4],
      ["RATE_LIMITED", 4],
    ]);
    expectServing(s.socket);
  });

  test("high-risk calls past max_pending_confirmations_per_session are refused; denied ones never run", async () => {
    const s: Session = await core.openSession("askers");
    const mark = auditMark(core, s.group);
    const dealer = new FrameDealer(s.socket);
    try {
      for (let i = 0; i < 3; i++) dealer.send(wire("tool.invoke.high_risk.run", {}));
      const refused = await dealer.receive(10_000);
      expect(refused?.error).toMatchObject({ code: "RATE_LIMITED", stage: 4, retriable: true });
      const pending = (await pendingConfirmations(core)).filter((p) => p.session === s.id || p.group === s.group);
      expect(pending.length).toBe(2);
      for (const p of pending) expect((await core.carapace(["deny", p.id as string])).code).toBe(0);
      const denied = await dealer.receiveMany(2, 10_000);
      expect(denied.map((r) => r.error as Json).map((e) => [e.code, e.stage])).toEqual(
        Array(2).fill(["CONFIRMATION_DENIED", 5]),
      );
    } finally {
      dealer.close();
    }
    const records = await auditCount(core, s.group, mark, (r) => r.outcome !== "info", 3);
    expect(records.map((r) => [r.kind, r.code, r.stage]).sort()).toEqual([
      ["rejected", "CONFIRMATION_DENIED", 5],
      ["rejected", "CONFIRMATION_DENIED", 5],
      ["rejected", "RATE_LIMITED", 4],
    ]);
    expect(core.audit(s.group).some((r) => r.kind === "routed")).toBe(false);
  });

  test("a caller that walks away from a pending confirmation: it is cancelled and can no longer be approved", async () => {
    const s: Session = await core.openSession("quitters");
    const mark = auditMark(core, s.group);
    const dealer = new FrameDealer(s.socket);
    const correlation = crypto.randomUUID();
    dealer.send(wire("tool.invoke.high_risk.run", {}, correlation));
    let id: string | undefined;
    for (let i = 0; i < 50 && !id; i++) {
      id = (await pendingConfirmations(core)).find((p) => p.correlation === correlation || p.group === s.group)?.id as
        | string
        | undefined;
      if (!id) await Bun.sleep(20);
    }
    expect(id).toBeDefined();
    dealer.close();
    // The core notices the caller is gone at its next heartbeat (every 2 s).
    const records = await auditCount(
      core,
      s.group,
      mark,
      (r) => r.correlation === correlation && r.kind !== "confirmation",
      1,
      15_000,
    );
    expect(records[0]).toMatchObject({ code: "PLUGIN_UNAVAILABLE", stage: 6 });
    expect((await pendingConfirmations(core)).some((p) => p.id === id)).toBe(false);
    expect((await core.carapace(["approve", id as string])).code).not.toBe(0);
    await Bun.sleep(100);
    expect(core.audit(s.group).some((r) => r.kind === "routed")).toBe(false);
  }, 60_000);
});

describe("stopping the core while a handler hangs", () => {
  test("the hanging call gets PLUGIN_UNAVAILABLE and its audit record; the core exits 0 promptly, no sockets left", async () => {
    const home = tempHome();
    installPlugin(home, "hang");
    const core = await startCore({ home, config: "[security]\nhandler_timeout_ms = 30000\n" });
    const s: Session = await core.openSession("stopping");
    const dealer = new FrameDealer(s.socket);
    const correlation = crypto.randomUUID();
    try {
      dealer.send(wire("tool.invoke.hang.run", {}, correlation));
      // The intent is written just before the handler is called: from then on the call has started.
      await waitForAudit(core, s.group, (r) => r.correlation === correlation && r.kind === "intent", 15_000);
      const started = Date.now();
      const stop = core.carapace(["stop"]);
      const reply = await dealer.receive(10_000);
      expect(reply).toMatchObject({ kind: "error", correlation });
      // The handler had started: its side effect may still happen, so the refusal is not retriable.
      expect(reply?.error).toMatchObject({ code: "PLUGIN_UNAVAILABLE", stage: 6, retriable: false });
      expect(await core.proc.exited).toBe(0);
      expect((await stop).code).toBe(0);
      // Well before the 30 s handler timeout: the stop does not wait for the hung handler.
      expect(Date.now() - started).toBeLessThan(20_000);
    } finally {
      dealer.close();
    }
    const records = core.audit(s.group).filter((r) => r.correlation === correlation);
    expect(records.map((r) => r.kind)).toEqual(["intent", "error"]);
    expect(records[1]).toMatchObject({ kind: "error", code: "PLUGIN_UNAVAILABLE", stage: 6 });
    expect(core.output()).not.toContain("audit log is closed");
    expect(socketFilesUnder(core.home)).toEqual([]);
  });
});

const VAULT_SECRET = "alpha only note 4471";

/** A plugin only group alpha may use, written the way a user would install it. */
function installVault(home: string): void {
  const dir = join(home, "plugins", "vault");
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const manifest = {
    description: "Holds a note for group alpha.",
    version: "1.0.0",
    author: "Carapace tests",
    provides: {
      tools: [
        {
          name: "vault.read",
          description: "Reads the note of group alpha.",
          risk_level: "low",
          arguments_schema: { type: "object", additionalProperties: false, properties: {} },
        },
      ],
    },
    allowed_groups: ["alpha"],
  };
  writeFileSync(join(dir, "manifest.json"), JSON.stringify(manifest), { mode: 0o644 });
  writeFileSync(
    join(dir, "handler.ts"),
    `export default { initialize() {}, handleToolInvocation() { return { note: "${VAULT_SECRET}" }; } };\n`,
    { mode: 0o644 },
  );
}

describe("cross-group calls to a tool allowed only for alpha (burst 3)", () => {
  test("beta gets UNAUTHORIZED at stage 4, audited in beta's log, spending no tokens; alpha is served", async () => {
    const home = tempHome();
    installVault(home);
    // One token a minute: no token comes back while the test runs, however slow the machine.
    const core = await startCore({ home, config: "[security]\nrate_limit_per_minute = 1\nrate_limit_burst = 3\n" });
    try {
      const alpha: Session = await core.openSession("alpha");
      const beta: Session = await core.openSession("beta");
      const mark = auditMark(core, "beta");
      const dealer = new FrameDealer(beta.socket);
      try {
        for (let i = 0; i < 10; i++) dealer.send(wire("tool.invoke.vault.read", {}));
        const replies = await dealer.receiveMany(10, 15_000);
        expect(replies.map((r) => r.error as Json).map((e) => [e.code, e.stage])).toEqual(
          Array(10).fill(["UNAUTHORIZED", 4]),
        );
        expect(JSON.stringify(replies)).not.toContain(VAULT_SECRET);
      } finally {
        dealer.close();
      }
      const records = await auditCount(core, "beta", mark, (r) => r.outcome !== "info", 10);
      expect(records.map((r) => [r.kind, r.code, r.stage, r.group])).toEqual(
        Array(10).fill(["rejected", "UNAUTHORIZED", 4, "beta"]),
      );
      // Authorization runs before the rate limit: beta's whole burst of 3 is still there, and no more.
      const listed = rawRequest(beta.socket, wire("tool.invoke.list_tools", {}));
      expect(listed?.kind).toBe("result");
      expect(JSON.stringify(listed)).not.toContain("vault.read");
      expectServing(beta.socket);
      expectServing(beta.socket);
      expect(rawRequest(beta.socket, wire("tool.invoke.hello.time", {}))?.error).toMatchObject({
        code: "RATE_LIMITED",
        stage: 4,
      });
      expect(rawRequest(alpha.socket, wire("tool.invoke.vault.read", {}))?.result).toEqual({ note: VAULT_SECRET });
      expect(JSON.stringify(core.audit("beta"))).not.toContain(VAULT_SECRET);
    } finally {
      await core.stop();
    }
  });
});
