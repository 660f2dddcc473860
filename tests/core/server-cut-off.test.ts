import { afterAll, beforeAll, expect, test } from "bun:test";
import { inProcessCore } from "../harness/in-process.ts";
import { ZmtpPeer } from "../harness/zmtp-peer.ts";

type Core = Awaited<ReturnType<typeof inProcessCore>>;
let core: Core;

beforeAll(async () => {
  core = await inProcessCore({});
});
afterAll(async () => {
  await core.close();
});

test("a session peer cut off at the transport is counted and audited with its reason, and the session goes on", async () => {
  const session = core.server.openSession("cut", "test");
  const peer = await ZmtpPeer.connect(session.socketPath);
  await peer.streamMessage(20, 16);
  await Promise.race([peer.whenClosed, Bun.sleep(20_000)]);
  expect(peer.closed).toBe(true);
  let record: Record<string, unknown> | undefined;
  for (let i = 0; i < 2000 && !record; i++) {
    record = core.audit("cut").find((r) => r.kind === "dropped");
    if (!record) await Bun.sleep(10);
  }
  expect(record).toMatchObject({
    kind: "dropped",
    outcome: "rejected",
    session: session.id,
    stage: 3,
    code: "VALIDATION_FAILED",
    detail: { reason: "peer cut off: it sent a message of more than 8 frames" },
  });
  const c = core.client(session.socketPath);
  expect(await c.request("tool.invoke.hello.echo", { message: "after" }).reply).toMatchObject({
    kind: "result",
    result: { message: "after" },
  });
});
