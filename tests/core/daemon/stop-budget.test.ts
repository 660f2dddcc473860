import { describe, expect, test } from "bun:test";
import { stopWithinBudget } from "../../../src/core/daemon/stop-budget.ts";

describe("the core's stop runs under one time budget", () => {
  test("a step that never settles is named on overrun, and the steps before it ran", async () => {
    const ran: string[] = [];
    const overrun = Promise.withResolvers<string>();
    void stopWithinBudget(
      [
        { name: "agents", run: async () => void ran.push("agents") },
        { name: "server", run: () => new Promise(() => {}) },
        { name: "never reached", run: async () => void ran.push("never reached") },
      ],
      50,
      overrun.resolve,
    );
    expect(await overrun.promise).toBe("server");
    expect(ran).toEqual(["agents"]);
  });

  test("a failing step does not stop the later ones, and no overrun is reported after finishing", async () => {
    const ran: string[] = [];
    let overran: string | null = null;
    await stopWithinBudget(
      [
        {
          name: "agents",
          run: async () => {
            throw new Error("podman went away");
          },
        },
        { name: "server", run: async () => void ran.push("server") },
      ],
      30,
      (step) => {
        overran = step;
      },
    );
    expect(ran).toEqual(["server"]);
    await Bun.sleep(60);
    expect(overran).toBeNull();
  });
});
