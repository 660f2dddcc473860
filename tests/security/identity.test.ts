import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { type RunningCore, startCore } from "../harness/core.ts";
import { rawRequest, wire } from "../harness/raw.ts";
import { auditAfter, auditMark, expectRejected, expectServing, type Json, ROOMY_LIMITS } from "./support.ts";

/** Hostile caller: spoofed identity, one session forging another's group, dead sockets, no cross-group data. */

describe("identity comes from the socket, never from the message (one core)", () => {
  let core: RunningCore;
  let alpha: { id: string; socket: string; group: string };
  let beta: { id: string; socket: string; group: string };
  const alphaCorrelations: string[] = [];

  beforeAll(async () => {
    core = await startCore({ config: ROOMY_LIMITS });
    alpha = await core.openSession("alpha");
    beta = await core.openSession("beta");
    for (const message of ["alpha private 1", "alpha private 2"]) {
      const correlation = crypto.randomUUID();
      alphaCorrelations.push(correlation);
      expect(rawRequest(alpha.socket, wire("tool.invoke.hello.echo", { message }, correlation))?.kind).toBe("result");
    }
  });
  afterAll(async () => {
    await core.stop();
  });

  test("beta claiming group alpha in the wire message is rejected and audited in beta's log only", async () => {
    const correlation = crypto.randomUUID();
    const alphaBefore = core.audit("alpha").length;
    const body = JSON.stringify({
      topic: "tool.invoke.hello.echo",
      correlation,
      arguments: { message: "I am alpha" },
      group: "alpha",
      source: "cli",
      session: alpha.id,
    });
    const { error, record } = await expectRejected(core, beta, body, "VALIDATION_FAILED", 3);
    expect(error.field).toBe("/group");
    expect(record).toMatchObject({ group: "beta", session: beta.id, correlation: null });
    await Bun.sleep(50);
    expect(core.audit("alpha").length).toBe(alphaBefore);
    expect(JSON.stringify(core.audit("alpha"))).not.toContain("I am alpha");
    expectServing(beta.socket);
  });

  test("beta claiming alpha inside the arguments is refused by the closed schema", async () => {
    const { error } = await expectRejected(
      core,
      beta,
      wire("tool.invoke.hello.echo", { message: "x", group: "alpha", session: alpha.id }),
      "VALIDATION_FAILED",
      3,
    );
    expect(error.field).toBe("/group");
  });

  test("beta's calls are routed as beta: the record lands in beta's log, none in alpha's", async () => {
    const correlation = crypto.randomUUID();
    const mark = auditMark(core, "beta");
    const reply = rawRequest(beta.socket, wire("tool.invoke.get_session_info", {}, correlation));
    const info = reply?.result as Json;
    expect(info).toMatchObject({ session_id: beta.id, group: "beta" });
    const records = await auditAfter(core, "beta", mark, (r) => r.correlation === correlation);
    expect(records.map((r) => [r.kind, r.group, r.session])).toEqual([
      ["intent", "beta", beta.id],
      ["routed", "beta", beta.id],
    ]);
    expect(core.audit("alpha").some((r) => r.correlation === correlation)).toBe(false);
  });

  test("get_diagnostics shows beta only beta's records, whatever it asks for", async () => {
    const reply = rawRequest(beta.socket, wire("tool.invoke.get_diagnostics", { limit: 100 }));
    expect(reply?.kind).toBe("result");
    const result = reply?.result as { group: string; records: Json[] };
    expect(result.group).toBe("beta");
    expect(result.records.length).toBeGreaterThan(0);
    // Each record shown is the record with that seq in beta's own log.
    const betaLog = new Map(core.audit("beta").map((r) => [r.seq, r]));
    for (const r of result.records) {
      const own = betaLog.get(r.seq);
      expect(own).toBeDefined();
      expect([r.kind, r.correlation]).toEqual([own?.kind, own?.correlation]);
    }
    const text = JSON.stringify(result);
    expect(text).not.toContain(alpha.id);
    for (const c of alphaCorrelations) expect(text).not.toContain(c);
    await expectRejected(core, beta, wire("tool.invoke.get_diagnostics", { group: "alpha" }), "VALIDATION_FAILED", 3);
  });

  test("memory stored by alpha is invisible to beta: search, brief and delete see only beta's own", async () => {
    const secret = `launch code ${crypto.randomUUID()}`;
    const stored = rawRequest(alpha.socket, wire("tool.invoke.memory_store", { type: "fact", content: secret }));
    const id = (stored?.result as Json | undefined)?.id as number;
    expect(Number.isInteger(id)).toBe(true);
    for (const [tool, args] of [
      ["memory_search", { query: "launch" }],
      ["memory_search", {}],
      ["memory_brief", {}],
    ] as const) {
      const reply = rawRequest(beta.socket, wire(`tool.invoke.${tool}`, args));
      expect(reply?.kind).toBe("result");
      expect(JSON.stringify(reply)).not.toContain(secret);
    }
    const deleted = rawRequest(beta.socket, wire("tool.invoke.memory_delete", { id }));
    expect(deleted?.error).toMatchObject({ code: "HANDLER_ERROR", stage: 6 });
    const still = rawRequest(alpha.socket, wire("tool.invoke.memory_search", { query: "launch" }));
    expect(JSON.stringify(still?.result)).toContain(secret);
    expect(JSON.stringify(core.audit("beta"))).not.toContain(secret);
  });

  test("every audit file holds only its own group's records", async () => {
    await core.carapace(["call", "hello.time", "{}", "--group", "gamma"]);
    await auditAfter(core, "gamma", 0, (r) => r.kind === "routed");
    const dir = join(core.home, "data/audit");
    const files = readdirSync(dir).filter((f) => f.endsWith(".jsonl") && !f.startsWith("_"));
    expect(files.sort()).toEqual(expect.arrayContaining(["alpha.jsonl", "beta.jsonl", "gamma.jsonl"]));
    for (const file of files) {
      const group = file.replace(/\.jsonl$/, "");
      const lines = readFileSync(join(dir, file), "utf8").split("\n").filter(Boolean);
      for (const line of lines) expect((JSON.parse(line) as Json).group).toBe(group);
    }
    const sessionsIn = (group: string) =>
      new Set(
        core
          .audit(group)
          .map((r) => r.session)
          .filter(Boolean),
      );
    expect([...sessionsIn("alpha")]).toEqual([alpha.id]);
    expect([...sessionsIn("beta")]).toEqual([beta.id]);
  });

  test("a socket path the core never issued gets a transport failure (ipc exit 3)", async () => {
    const forged = join(dirname(dirname(alpha.socket)), "f".repeat(32), "request.sock");
    const r = await core.ipc(forged, "hello.echo", { message: "x" }, { env: { CARAPACE_IPC_TIMEOUT_MS: "2000" } });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("[IPC] Error:");
    expectServing(alpha.socket);
  });

  test("a closed session's socket is gone: ipc exits 3, a raw client gets nothing, the end is audited", async () => {
    const doomed = await core.openSession("beta");
    expectServing(doomed.socket);
    const mark = auditMark(core, "beta");
    await core.closeSession(doomed.id);
    expect(existsSync(doomed.socket)).toBe(false);
    const r = await core.ipc(
      doomed.socket,
      "hello.echo",
      { message: "x" },
      { env: { CARAPACE_IPC_TIMEOUT_MS: "2000" } },
    );
    expect(r.code).toBe(3);
    expect(r.stdout).toBe("");
    const closed = await auditAfter(core, "beta", mark, (r) => r.kind === "session" && r.session === doomed.id);
    expect(closed[0]?.detail).toMatchObject({ event: "closed" });
    // A raw client that connects anyway (libzmq keeps retrying in the background) is never answered.
    expect(rawRequest(doomed.socket, wire("tool.invoke.hello.echo", { message: "x" }), 500)).toBeNull();
    await Bun.sleep(50);
    expect(
      core.audit("beta").some((r) => (r.seq as number) > mark && r.session === doomed.id && r.kind !== "session"),
    ).toBe(false);
    expectServing(beta.socket);
  });

  test("group names that could escape or collide are refused when a session is opened", async () => {
    for (const group of ["../alpha", "ALPHA", "alpha/x", "", "a".repeat(33), "_core", "alpha\n"]) {
      const r = await core.carapace(["session", "open", "--group", group, "--json"]);
      expect(r.code).not.toBe(0);
    }
    expectServing(alpha.socket);
  });
});
