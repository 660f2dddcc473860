import { expect, test } from "bun:test";
import { DealerSocket, RouterSocket } from "../../src/transport/sockets.ts";
import { socketDir, text } from "./helpers.ts";

/**
 * Signals interrupt system calls inside libzmq (a child exiting sends SIGCHLD; a profiler sends SIGPROF),
 * and libzmq then fails a call with EINTR. The transport retries such calls instead of throwing out of
 * the reactor, which would take the core down.
 */
test("round trips keep working while the process is flooded with signals", async () => {
  const dir = socketDir();
  let handled = 0;
  const onSignal = () => handled++;
  process.on("SIGUSR2", onSignal);
  const storm = Bun.spawn(["sh", "-c", `while kill -USR2 ${process.pid} 2>/dev/null; do :; done`]);
  const errors: unknown[] = [];
  const router = new RouterSocket(dir.endpoint("sig.sock"), (id, frames) => {
    try {
      router.send(id, ["", frames[1] ?? new Uint8Array()]);
    } catch (e) {
      errors.push(e);
    }
  });
  let answered = 0;
  const total = 3000;
  const done = Promise.withResolvers<void>();
  const dealer = new DealerSocket(dir.endpoint("sig.sock"), (frames) => {
    expect(text(frames[0])).toBe(`m${answered}`);
    answered++;
    if (answered === total) done.resolve();
    else dealer.send([`m${answered}`]);
  });
  try {
    dealer.send(["m0"]);
    await Promise.race([done.promise, Bun.sleep(30_000)]);
  } finally {
    storm.kill("SIGKILL");
    await storm.exited;
    await Bun.sleep(20); // a signal already on its way must still find the handler
    process.off("SIGUSR2", onSignal);
    dealer.close();
    router.close();
    dir.cleanup();
  }
  expect(errors).toEqual([]);
  expect(answered).toBe(total);
  expect(handled).toBeGreaterThan(0);
}, 40_000);
