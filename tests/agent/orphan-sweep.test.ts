/**
 * A fresh core removes the home's containers it did not start; until that sweep has run it says so, and
 * `doctor --probe` (which starts its container outside the core) waits for it instead of being swept.
 */
import { expect, test } from "bun:test";
import { AgentManager } from "../../src/agent/manager.ts";
import { cloneDefaults } from "../../src/config/schema.ts";
import { MockRuntime } from "../../src/container/adapters/mock.ts";
import type { ContainerSummary } from "../../src/container/runtime.ts";
import { inProcessCore } from "../harness/in-process.ts";

class GatedListRuntime extends MockRuntime {
  readonly gate = Promise.withResolvers<void>();
  override async listByLabel(label: string, value?: string): Promise<ContainerSummary[]> {
    await this.gate.promise;
    return await super.listByLabel(label, value);
  }
}

test("orphansSwept is false while the start-up sweep runs and true once it ended", async () => {
  const core = await inProcessCore();
  const runtime = new GatedListRuntime({});
  const manager = new AgentManager(core.home, core.server.forAgents(), cloneDefaults(), async () => ({
    runtime,
    info: await runtime.info(),
  }));
  try {
    expect(manager.orphansSwept()).toBe(false);
    const sweep = manager.cleanupOrphans();
    await Bun.sleep(20);
    expect(manager.orphansSwept()).toBe(false);
    runtime.gate.resolve();
    await sweep;
    expect(manager.orphansSwept()).toBe(true);
  } finally {
    await manager.stop();
    await core.close();
  }
});
