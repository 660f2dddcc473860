import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type RunningCore, startCore, waitForAudit } from "../../harness/core.ts";

type View = { seq: number; correlation: string | null; topic?: string; outcome: string };
type Session = { id: string; socket: string; group: string };

/** get_diagnostics through the compiled ipc against the compiled core: filters and who sees what. */
describe("get_diagnostics filters the caller's audit records", () => {
  let core: RunningCore;
  let mine: Session;
  let neighbour: Session;
  let stranger: Session;

  const diagnostics = async (who: Session, args: Record<string, unknown>) => {
    const r = await core.ipc(who.socket, "get_diagnostics", { limit: 100, ...args });
    expect(r.code).toBe(0);
    return r.json as { group: string; scope: string; records: View[] };
  };
  const sessionOf = (seq: number) => core.audit("alpha").find((r) => r.seq === seq)?.session;
  const correlationsOf = (who: Session) =>
    core
      .audit(who.group)
      .filter((r) => r.session === who.id && typeof r.correlation === "string")
      .map((r) => String(r.correlation));

  beforeAll(async () => {
    core = await startCore();
    mine = await core.openSession("alpha");
    neighbour = await core.openSession("alpha");
    stranger = await core.openSession("beta");
    expect((await core.ipc(mine.socket, "hello.echo", { message: "first" })).code).toBe(0);
    expect((await core.ipc(mine.socket, "hello.greet", { name: "me" })).code).toBe(0);
    expect((await core.ipc(mine.socket, "hello.echo", { nope: 1 })).code).toBe(1);
    expect((await core.ipc(neighbour.socket, "hello.echo", { message: "neighbour" })).code).toBe(0);
    expect((await core.ipc(stranger.socket, "hello.echo", { message: "stranger" })).code).toBe(0);
    await waitForAudit(core, "alpha", (r) => r.session === neighbour.id && r.outcome === "ok");
  });
  afterAll(async () => {
    await core.stop();
  });

  test("by default only the caller's own session is shown", async () => {
    const shown = await diagnostics(mine, {});
    expect(shown.scope).toBe("session");
    expect(shown.records.length).toBeGreaterThanOrEqual(3);
    for (const r of shown.records) expect(sessionOf(r.seq)).toBe(mine.id);
    const text = JSON.stringify(shown);
    for (const c of correlationsOf(neighbour)) expect(text).not.toContain(String(c));
  });

  test('scope "group" shows the other sessions of the same group, and never another group', async () => {
    const shown = await diagnostics(mine, { scope: "group" });
    expect(shown.scope).toBe("group");
    const correlations = shown.records.map((r) => r.correlation);
    for (const c of correlationsOf(neighbour)) expect(correlations).toContain(c);
    for (const c of correlationsOf(stranger)) expect(correlations).not.toContain(c);
    const fromBeta = await diagnostics(stranger, { scope: "group" });
    expect(fromBeta.group).toBe("beta");
    for (const c of correlationsOf(mine)) expect(fromBeta.records.map((r) => r.correlation)).not.toContain(c);
  });

  test("a correlation id picks out exactly that call's records", async () => {
    const greet = core.audit("alpha").find((r) => r.session === mine.id && r.topic === "tool.invoke.hello.greet");
    const correlation = String(greet?.correlation);
    const shown = await diagnostics(mine, { correlation });
    expect(shown.records.length).toBeGreaterThan(0);
    for (const r of shown.records) expect(r.correlation).toBe(correlation);
    const fromNeighbour = await diagnostics(neighbour, { correlation });
    expect(fromNeighbour.records).toEqual([]);
    expect((await diagnostics(neighbour, { correlation, scope: "group" })).records.length).toBe(shown.records.length);
  });

  test("topic (short or full) and outcome narrow the records", async () => {
    for (const topic of ["hello.echo", "tool.invoke.hello.echo"]) {
      const shown = await diagnostics(mine, { topic });
      expect(shown.records.length).toBeGreaterThanOrEqual(2);
      for (const r of shown.records) expect(r.topic).toBe("tool.invoke.hello.echo");
    }
    const rejected = await diagnostics(mine, { outcome: "rejected" });
    expect(rejected.records.length).toBeGreaterThanOrEqual(1);
    for (const r of rejected.records) expect(r.outcome).toBe("rejected");
    const both = await diagnostics(mine, { topic: "hello.greet", outcome: "rejected" });
    expect(both.records).toEqual([]);
  });

  test("an unknown scope or a group name in the arguments is refused at validation", async () => {
    for (const args of [{ scope: "everyone" }, { group: "beta" }, { correlation: "" }]) {
      const r = await core.ipc(mine.socket, "get_diagnostics", args);
      expect(r.code).toBe(1);
      expect(r.json).toMatchObject({ code: "VALIDATION_FAILED", stage: 3 });
    }
  });
});
