import { expect, test } from "bun:test";
import { CallerKeepalive } from "../../src/core/caller-keepalive.ts";
import type { ReplyFrame } from "../../src/protocol/reply.ts";

const limits = { handlerTimeoutMs: 90_000, ipcTimeoutMs: 60_000 };

test("a running call's caller gets a heartbeat every ~2 s; one that cannot take it is told gone once; a stopped call gets none", async () => {
  const sent: ReplyFrame[] = [];
  let gone = 0;
  let stoppedSends = 0;
  const correlation = crypto.randomUUID();
  const listening = new CallerKeepalive(
    correlation,
    Date.now(),
    limits,
    (f) => sent.push(f) > 0,
    () => {},
  );
  const vanished = new CallerKeepalive(
    crypto.randomUUID(),
    Date.now(),
    limits,
    () => false,
    () => void gone++,
  );
  const stopped = new CallerKeepalive(
    crypto.randomUUID(),
    Date.now(),
    limits,
    () => stoppedSends++ >= 0,
    () => {},
  );
  const anonymous = new CallerKeepalive(
    null,
    Date.now(),
    limits,
    () => {
      throw new Error("a call without a correlation has no one to tell");
    },
    () => {},
  );
  stopped.stop();
  const before = listening.deadlineMs();
  await Bun.sleep(4_700);
  listening.stop();
  vanished.stop();
  anonymous.stop();
  expect(sent.length).toBe(2);
  expect(sent[0]).toEqual({ kind: "heartbeat", correlation, state: "running", wait_ms: 90_000 });
  // Each heartbeat taken extends how long the caller waits.
  expect(listening.deadlineMs()).toBeGreaterThan(before + 30_000);
  expect(gone).toBe(1);
  expect(stoppedSends).toBe(0);
}, 20_000);

test("a call waiting for a person tells its caller at once", () => {
  const sent: ReplyFrame[] = [];
  const k = new CallerKeepalive(
    crypto.randomUUID(),
    Date.now(),
    limits,
    (f) => sent.push(f) > 0,
    () => {},
  );
  k.pendingConfirmation("c-1", 90_000);
  k.stop();
  expect(sent).toEqual([
    expect.objectContaining({ state: "pending_confirmation", wait_ms: 90_000, confirmation: "c-1" }),
  ]);
});
