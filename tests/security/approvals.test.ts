import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { installPlugin } from "../fixtures/plugins/install.ts";
import { ensureBinaries } from "../harness/binaries.ts";
import { type RunningCore, startCore, tempHome } from "../harness/core.ts";
import { rawRequest, wire } from "../harness/raw.ts";
import { auditAfter, auditMark, FrameDealer, type Json } from "./support.ts";

/**
 * Approvals a person can trust, through the compiled core: every argument is shown (a padded field
 * cannot hide another), the approval is bound to the request hash and single-use, the tool gets exactly
 * what was shown, a caller that is gone cannot be approved, and every decision is in the audit log.
 */

type Session = { id: string; socket: string; group: string };

const PADDING = "x".repeat(5000);
const ATTACKER = "attacker@evil.example";

async function pending(core: RunningCore): Promise<Json[]> {
  const r = await core.carapace(["approvals", "--json"]);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as Json[];
}

async function waitPending(core: RunningCore, match: (p: Json) => boolean): Promise<Json> {
  for (let i = 0; i < 200; i++) {
    const hit = (await pending(core)).find(match);
    if (hit) return hit;
    await Bun.sleep(25);
  }
  throw new Error("no pending confirmation appeared");
}

async function outbox(socket: string): Promise<unknown[]> {
  const reply = rawRequest(socket, wire("tool.invoke.mailer.outbox", {}));
  expect(reply?.kind).toBe("result");
  return ((reply as Json).result as { outbox: unknown[] }).outbox;
}

describe("approvals through the compiled core", () => {
  let core: RunningCore;
  let watcher: Session;

  beforeAll(async () => {
    const home = tempHome();
    installPlugin(home, "mailer");
    core = await startCore({
      home,
      config: "[security]\nconfirmation_timeout_ms = 60000\nrate_limit_per_minute = 6000\nrate_limit_burst = 100\n",
    });
    watcher = await core.openSession("watcher");
  });
  afterAll(async () => {
    await core.stop();
  });

  test("a padded first argument hides nothing: every field is shown, cut on its own, and the full request is printable", async () => {
    const s: Session = await core.openSession("padded");
    const dealer = new FrameDealer(s.socket);
    const correlation = crypto.randomUUID();
    // The agent chose the order: 5000 characters of padding first, the recipient last, an escape in between.
    const args = { body: PADDING, options: { note: "\u001b[2J\u009b31mred" }, to: ATTACKER };
    try {
      dealer.send(wire("tool.invoke.mailer.send", args, correlation));
      const p = await waitPending(core, (x) => x.correlation === correlation);
      const fields = p.fields as Json[];
      expect(fields.map((f) => f.path)).toEqual(["/body", "/options/note", "/to"]);
      expect(fields[2]).toMatchObject({ path: "/to", preview: JSON.stringify(ATTACKER), cut: false });
      expect(fields[0]).toMatchObject({ path: "/body", length: 5000, cut: true });
      expect(String(fields[0]?.preview).length).toBeLessThan(100);

      const listed = await core.carapace(["approvals"]);
      expect(listed.code).toBe(0);
      expect(listed.stdout).toContain(`/to = "${ATTACKER}"`);
      expect(listed.stdout).toContain("(cut: 5000 characters in full)");
      for (const c of ["\u001b", "\u009b"]) expect(listed.stdout).not.toContain(c);

      const shown = await core.carapace(["approvals", "show", p.id as string]);
      expect(shown.code).toBe(0);
      expect(shown.stdout).toContain(p.request_hash as string);
      const canonical = shown.stdout.split("\n").find((l) => l.startsWith("{")) as string;
      for (const c of ["\u001b", "\u009b"]) expect(shown.stdout).not.toContain(c);
      expect(JSON.parse(canonical)).toEqual(args);
      const shownJson = await core.carapace(["approvals", "show", p.id as string, "--json"]);
      expect(JSON.parse((shownJson.json as Json).arguments as string)).toEqual(args);

      // Bound to the hash: a different hash is refused and the call still waits.
      const wrong = await core.carapace(["approve", p.id as string, "--hash", "0123456789abcdef"]);
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toContain("hash does not match");
      expect((await pending(core)).some((x) => x.id === p.id)).toBe(true);

      const mark = auditMark(core, s.group);
      const ok = await core.carapace(["approve", p.id as string, "--hash", (p.request_hash as string).slice(0, 12)]);
      expect(ok.code).toBe(0);
      expect(await dealer.receive(5000)).toEqual({ kind: "result", correlation, result: { sent: true } });
      // The tool received exactly the arguments that were shown.
      expect(await outbox(watcher.socket)).toEqual([args]);

      // Single use: the same id cannot be approved again.
      expect((await core.carapace(["approve", p.id as string])).code).toBe(1);

      const [decision] = await auditAfter(core, s.group, mark, (r) => r.kind === "confirmation");
      expect(decision).toMatchObject({ session: s.id, correlation, topic: "tool.invoke.mailer.send", stage: 5 });
      const detail = decision?.detail as Json;
      expect(detail).toMatchObject({
        decision: "approved",
        confirmation: p.id,
        request_hash: p.request_hash,
        approver: { channel: "cli", uid: process.getuid?.() },
      });
      expect(typeof detail.waited_ms).toBe("number");
      expect(typeof (detail.approver as Json).pid).toBe("number");
    } finally {
      dealer.close();
    }
  }, 60_000);

  test("a denial is recorded with the approver, and the tool never runs", async () => {
    const s: Session = await core.openSession("denied");
    const dealer = new FrameDealer(s.socket);
    const correlation = crypto.randomUUID();
    const before = (await outbox(watcher.socket)).length;
    try {
      dealer.send(wire("tool.invoke.mailer.send", { to: ATTACKER, body: "deny me" }, correlation));
      const p = await waitPending(core, (x) => x.correlation === correlation);
      const mark = auditMark(core, s.group);
      expect((await core.carapace(["deny", p.id as string])).code).toBe(0);
      expect((await dealer.receive(5000))?.error).toMatchObject({ code: "CONFIRMATION_DENIED", stage: 5 });
      const [decision] = await auditAfter(core, s.group, mark, (r) => r.kind === "confirmation");
      expect(decision?.detail).toMatchObject({
        decision: "denied",
        request_hash: p.request_hash,
        approver: { channel: "cli", uid: process.getuid?.() },
      });
    } finally {
      dealer.close();
    }
    expect((await outbox(watcher.socket)).length).toBe(before);
  }, 60_000);

  test("a caller that disconnected cannot be approved, even before its next heartbeat", async () => {
    const s: Session = await core.openSession("vanished");
    const dealer = new FrameDealer(s.socket);
    const correlation = crypto.randomUUID();
    const before = (await outbox(watcher.socket)).length;
    dealer.send(wire("tool.invoke.mailer.send", { to: ATTACKER, body: "from a dead caller" }, correlation));
    const p = await waitPending(core, (x) => x.correlation === correlation);
    const mark = auditMark(core, s.group);
    dealer.close();
    const approve = await core.carapace(["approve", p.id as string]);
    expect(approve.code).toBe(1);
    expect(approve.stderr).toContain("caller of this call is gone");
    const [decision] = await auditAfter(core, s.group, mark, (r) => r.kind === "confirmation");
    expect(decision?.detail).toMatchObject({ decision: "cancelled", request_hash: p.request_hash });
    await Bun.sleep(100);
    expect((await outbox(watcher.socket)).length).toBe(before);
    expect(core.audit(s.group).some((r) => r.kind === "routed" && r.correlation === correlation)).toBe(false);
  }, 60_000);

  test("a `carapace call` killed while it waits leaves nothing approvable; the tool never runs", async () => {
    const before = (await outbox(watcher.socket)).length;
    const body = `killed caller ${crypto.randomUUID()}`;
    const caller = Bun.spawn(
      [ensureBinaries().carapace, "call", "mailer.send", JSON.stringify({ to: ATTACKER, body }), "--group", "operator"],
      { env: core.env, stdout: "ignore", stderr: "ignore" },
    );
    const p = await waitPending(core, (x) => x.group === "operator");
    expect(JSON.stringify(p.fields)).toContain(body);
    caller.kill("SIGKILL");
    await caller.exited;
    const approve = await core.carapace(["approve", p.id as string]);
    expect(approve.code).toBe(1);
    await Bun.sleep(200);
    expect((await outbox(watcher.socket)).length).toBe(before);
    const decisions = core.audit("operator").filter((r) => r.kind === "confirmation");
    expect(decisions.map((r) => (r.detail as Json).decision)).toEqual(["cancelled"]);
    expect(core.audit("operator").some((r) => r.kind === "routed")).toBe(false);
  }, 60_000);
});

describe("an approval that expires", () => {
  test("is refused after confirmation_timeout_ms, recorded as timeout, and the tool never runs", async () => {
    const home = tempHome();
    installPlugin(home, "mailer");
    // Long enough that a slow `carapace approvals` still sees the confirmation pending before it expires.
    const core = await startCore({ home, config: "[security]\nconfirmation_timeout_ms = 5000\n" });
    try {
      const s: Session = await core.openSession("slow");
      const dealer = new FrameDealer(s.socket);
      const correlation = crypto.randomUUID();
      try {
        dealer.send(wire("tool.invoke.mailer.send", { to: ATTACKER, body: "too late" }, correlation));
        const p = await waitPending(core, (x) => x.correlation === correlation);
        expect((await dealer.receive(20_000))?.error).toMatchObject({ code: "CONFIRMATION_TIMEOUT", stage: 5 });
        expect((await core.carapace(["approve", p.id as string])).code).toBe(1);
        const [decision] = await auditAfter(core, s.group, 0, (r) => r.kind === "confirmation");
        expect(decision?.detail).toMatchObject({ decision: "timeout", approver: null });
        expect(await outbox(s.socket)).toEqual([]);
      } finally {
        dealer.close();
      }
    } finally {
      await core.stop();
    }
  }, 60_000);
});
