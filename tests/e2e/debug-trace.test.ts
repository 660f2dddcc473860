import { expect, test } from "bun:test";
import { startCore } from "../harness/core.ts";

test("start --debug prints every hop, redacted, and --trace-filter narrows it", async () => {
  const core = await startCore({ args: ["--debug", "--trace-filter", "tool.invoke.hello.echo"] });
  try {
    const s = await core.openSession("trace");
    await core.ipc(s.socket, "hello.echo", { message: "Bearer abcdefghijklmnopqrstuvwxyz0123456789" });
    await core.ipc(s.socket, "hello.time", {});
    // The last hop is traced just after the reply went out; the lines reach this process through a pipe.
    for (let i = 0; i < 100 && !core.output().includes("reply sent"); i++) await Bun.sleep(100);
    const out = core.output();
    for (const hop of [
      "wire received",
      "stage 3 frame limits: passed",
      "stage 1 construct envelope: passed",
      "stage 2 topic whitelist: passed",
      "stage 4 authorize and rate limit: passed",
      "stage 6 dispatch: passed",
      "reply sent",
    ]) {
      expect(out).toContain(hop);
    }
    expect(out).not.toContain("abcdefghijklmnopqrstuvwxyz0123456789");
    expect(out).not.toContain("tool.invoke.hello.time");
  } finally {
    await core.stop();
  }
});

test("a rejected call is traced with its stage", async () => {
  const core = await startCore({ args: ["--debug"] });
  try {
    const s = await core.openSession("trace");
    await core.ipc(s.socket, "hello.echo", { nope: 1 });
    for (let i = 0; i < 100 && !core.output().includes("stage 3 payload validation"); i++) await Bun.sleep(100);
    expect(core.output()).toContain("stage 3 payload validation: rejected");
  } finally {
    await core.stop();
  }
});
