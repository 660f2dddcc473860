import { describe, expect, test } from "bun:test";
import { type WarmContainer, WarmPool } from "../../src/agent/warm-pool.ts";
import type { ContainerExit } from "../../src/container/lifecycle.ts";

/** A warm container whose process ends when its stdin is released (as the entrypoint does) or it exits on its own. */
function fakeWarm(group: string, n: number) {
  const exit = Promise.withResolvers<ContainerExit>();
  const released: (string | undefined)[] = [];
  const name = `carapace-${group}-${n}`;
  const warm: WarmContainer = {
    group,
    sessionId: `${group}${n}`,
    sessionDir: "/nonexistent",
    files: {} as WarmContainer["files"],
    user: "65534:65534",
    spec: {} as WarmContainer["spec"],
    sink: {},
    startedAt: 0,
    container: {
      name,
      exited: exit.promise,
      stop: async () => {
        exit.resolve({ name, code: 0, reason: "stopped", stderrTail: "" });
        return await exit.promise;
      },
      alive: () => true,
      release: (stdin) => {
        if (released.length) throw new Error("already released");
        released.push(typeof stdin === "string" ? stdin : undefined);
        if (stdin === undefined) exit.resolve({ name, code: 64, reason: "exited", stderrTail: "" });
      },
    },
  };
  return { warm, released, crash: () => exit.resolve({ name, code: 1, reason: "exited", stderrTail: "" }) };
}

function pool(idleMs = 60_000, maxAgeMs = 60_000) {
  const started: ReturnType<typeof fakeWarm>[] = [];
  const discarded: string[] = [];
  const gates: PromiseWithResolvers<void>[] = [];
  let hold = false;
  const p = new WarmPool({
    start: async (group) => {
      if (hold) {
        const gate = Promise.withResolvers<void>();
        gates.push(gate);
        await gate.promise;
      }
      const w = fakeWarm(group, started.length);
      started.push(w);
      return w.warm;
    },
    discard: (w) => discarded.push(w.sessionId),
    log: () => {},
    idleMs,
    maxAgeMs,
  });
  return {
    p,
    started,
    discarded,
    gates,
    holdStarts: () => {
      hold = true;
    },
  };
}

const settle = () => Bun.sleep(0);

describe("WarmPool", () => {
  test("one per group; taken once, by its own group only", async () => {
    const { p, started } = pool();
    p.refill("alpha");
    p.refill("alpha");
    await settle();
    expect(started).toHaveLength(1);
    expect(await p.take("beta")).toBeNull();
    expect((await p.take("alpha"))?.sessionId).toBe("alpha0");
    expect(await p.take("alpha")).toBeNull();
    expect(p.list()).toEqual([]);
  });

  test("a claimed container is the session's: its exit discards nothing and it never comes back", async () => {
    const { p, started, discarded } = pool();
    p.refill("alpha");
    const warm = await p.take("alpha");
    warm?.container.release("credential\n");
    started[0]?.crash();
    await settle();
    expect(discarded).toEqual([]);
    p.refill("alpha");
    expect((await p.take("alpha"))?.sessionId).toBe("alpha1");
  });

  test("one taken while still starting is handed over once started, not wasted", async () => {
    const { p, discarded, gates, holdStarts } = pool();
    holdStarts();
    p.refill("alpha");
    const taking = p.take("alpha");
    expect(p.list()).toEqual([]);
    for (const g of gates) g.resolve();
    expect((await taking)?.sessionId).toBe("alpha0");
    expect(discarded).toEqual([]);
  });

  test("one that exits unclaimed leaves the pool and its files are discarded", async () => {
    const { p, started, discarded } = pool();
    p.refill("alpha");
    await settle();
    started[0]?.crash();
    await settle();
    await settle();
    expect(discarded).toEqual(["alpha0"]);
    expect(await p.take("alpha")).toBeNull();
  });

  test("ended by closing its stdin with nothing written", async () => {
    const { p, started, discarded } = pool();
    p.refill("alpha");
    const warm = await p.take("alpha");
    if (warm) p.end(warm);
    await warm?.container.exited;
    await settle();
    expect(started[0]?.released).toEqual([undefined]);
    expect(discarded).toEqual(["alpha0"]);
  });

  test("an unclaimed one is ended after the idle time", async () => {
    const { p, started, discarded } = pool(20);
    p.refill("alpha");
    await settle();
    const deadline = Date.now() + 10_000;
    while (discarded.length === 0 && Date.now() < deadline) await Bun.sleep(10);
    expect(started[0]?.released).toEqual([undefined]);
    expect(discarded).toEqual(["alpha0"]);
    expect(p.list()).toEqual([]);
  });

  test("one older than the key helper's limit is replaced while its group is active, then not", async () => {
    const { p, started, discarded } = pool(5_000, 40);
    p.refill("alpha");
    const deadline = Date.now() + 20_000;
    while (discarded.length < 2 && Date.now() < deadline) await Bun.sleep(5);
    // Each replaced one is ended unclaimed (stdin closed with nothing written) and a fresh one takes its place.
    expect(started.length).toBeGreaterThanOrEqual(3);
    expect(started[0]?.released).toEqual([undefined]);
    expect(discarded.slice(0, 2)).toEqual(["alpha0", "alpha1"]);
    const claimed = await p.take("alpha");
    expect(claimed?.sessionId).not.toBe("alpha0");
    expect(claimed?.sessionId).not.toBe("alpha1");
    await p.stop();
    // Past the group's active time nothing more is started.
    const { p: q, started: qs } = pool(60, 40);
    q.refill("alpha");
    const quiet = Date.now() + 20_000;
    while (q.list().length > 0 && Date.now() < quiet) await Bun.sleep(5);
    const count = qs.length;
    await Bun.sleep(200);
    expect(qs.length).toBe(count);
    expect(count).toBeLessThanOrEqual(3);
    expect(q.list()).toEqual([]);
  });

  test("stop ends the ready ones and those still starting, and starts no more", async () => {
    const { p, started, discarded, gates, holdStarts } = pool();
    p.refill("alpha");
    await settle();
    holdStarts();
    p.refill("beta");
    expect(p.list().map((w) => [w.group, w.state])).toEqual([
      ["alpha", "ready"],
      ["beta", "starting"],
    ]);
    const stopped = p.stop();
    for (const g of gates) g.resolve();
    await stopped;
    expect(started.map((s) => s.released)).toEqual([[undefined], [undefined]]);
    expect(discarded.sort()).toEqual(["alpha0", "beta1"]);
    p.refill("gamma");
    expect(p.list()).toEqual([]);
  });
});
