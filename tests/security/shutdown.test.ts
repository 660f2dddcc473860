import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { type IpcResult, startCore } from "../harness/core.ts";
import { wire } from "../harness/raw.ts";
import { FrameDealer, type Json, ROOMY_LIMITS, socketFilesUnder } from "./support.ts";

/** Hostile caller: calls that arrive while the core stops get an answer or a clean transport failure, never a crash. */

const IPC_TIMEOUT_MS = "2500";

describe("messages during shutdown", () => {
  test("a call flood racing `carapace stop`: results, PLUGIN_UNAVAILABLE or exit 3; exit 0; no sockets left", async () => {
    const core = await startCore({ config: ROOMY_LIMITS });
    const sessions = [await core.openSession("shut-a"), await core.openSession("shut-b")];

    // Raw clients pipelining requests on both sockets until the core is gone.
    const dealers = sessions.map((s) => new FrameDealer(s.socket));
    const sent: string[] = [];
    let pumping = true;
    const pump = (async () => {
      for (let i = 0; pumping; i++) {
        const correlation = crypto.randomUUID();
        sent.push(correlation);
        dealers[i % dealers.length]?.send(wire("tool.invoke.hello.echo", { message: `raw ${i}` }, correlation));
        await Bun.sleep(2);
      }
    })();

    // ipc processes started before, during and after the stop.
    const calls: Promise<{ message: string; r: IpcResult }>[] = [];
    const call = (i: number) => {
      const message = `ipc ${i}`;
      const socket = (sessions[i % sessions.length] as { socket: string }).socket;
      calls.push(
        core
          .ipc(socket, "hello.echo", { message }, { env: { CARAPACE_IPC_TIMEOUT_MS: IPC_TIMEOUT_MS } })
          .then((r) => ({ message, r })),
      );
    };
    for (let i = 0; i < 8; i++) call(i);
    await Bun.sleep(100);
    const stop = core.carapace(["stop"]);
    for (let i = 8; i < 16; i++) {
      call(i);
      await Bun.sleep(10);
    }

    const exitCode = await core.proc.exited;
    expect(exitCode).toBe(0);
    expect((await stop).code).toBe(0);
    pumping = false;
    await pump;

    for (const { message, r } of await Promise.all(calls)) {
      expect([0, 1, 3]).toContain(r.code);
      if (r.code === 0) expect(r.json).toEqual({ message });
      if (r.code === 1) expect(r.json).toMatchObject({ code: "PLUGIN_UNAVAILABLE", stage: 6, retriable: true });
      if (r.code === 3) expect(r.stderr).toContain("[IPC] Error:");
    }

    const replies: Json[] = [];
    for (const d of dealers) {
      replies.push(...(await d.receiveMany(sent.length, 300)));
      d.close();
    }
    expect(replies.length).toBeGreaterThan(0);
    const unavailable = new Set<string>();
    for (const reply of replies) {
      expect(sent).toContain(reply.correlation as string);
      if (reply.kind === "result") continue;
      expect(reply.kind).toBe("error");
      expect(reply.error).toMatchObject({ code: "PLUGIN_UNAVAILABLE", stage: 6, retriable: true });
      unavailable.add(reply.correlation as string);
    }

    // Every refusal that reached a client was audited first, with its stage.
    const audited = [...core.audit("shut-a"), ...core.audit("shut-b")];
    for (const correlation of unavailable) {
      const record = audited.find((r) => r.correlation === correlation && r.kind !== "intent");
      expect(record).toMatchObject({ code: "PLUGIN_UNAVAILABLE", stage: 6 });
    }
    expect(socketFilesUnder(core.home)).toEqual([]);
    expect(socketFilesUnder(join(core.home, "run"))).toEqual([]);
    expect(core.output()).not.toMatch(/panic|Uncaught|segmentation fault/i);

    const verify = await core.carapace(["audit", "verify"]);
    expect(verify.code).toBe(0);
  });
});
