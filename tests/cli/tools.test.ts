/** `carapace tools` through the compiled binary against a running core. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { installPlugin } from "../fixtures/plugins/install.ts";
import { ensureBinaries } from "../harness/binaries.ts";
import { type RunningCore, startCore, tempHome } from "../harness/core.ts";
import { runCommand } from "../harness/run.ts";

let core: RunningCore;
beforeAll(async () => {
  const home = tempHome();
  installPlugin(home, "high-risk");
  core = await startCore({ home });
}, 180_000);
afterAll(() => core.stop());

describe("carapace tools", () => {
  test("lists what the group can call with risk and plugin, as a table and as JSON", async () => {
    const json = await core.carapace(["tools", "--group", "work", "--json"]);
    expect(json.code).toBe(0);
    const tools = JSON.parse(json.stdout) as { name: string; risk_level: string; plugin: string; available: boolean }[];
    expect(tools.find((t) => t.name === "high_risk.run")).toMatchObject({ risk_level: "high", available: true });
    expect(tools.map((t) => t.name)).toContain("get_session_info");
    const table = await core.carapace(["tools"]);
    expect(table.code).toBe(0);
    expect(table.stdout).toStartWith(`Tools group default can call (${tools.length}):\n`);
    expect(table.stdout).toMatch(/ {2}high_risk\.run\s+high\s+high-risk /);
  });

  test("an invalid group is a usage error; a stopped core is exit 3 with its fix", async () => {
    const bad = await core.carapace(["tools", "--group", "Not Valid"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("[TOOLS] Error: that is not a valid group name.");
    const home = tempHome();
    const stopped = await runCommand([ensureBinaries().carapace, "tools"], {
      env: { PATH: "/usr/bin:/bin", HOME: home, CARAPACE_HOME: home },
    });
    expect(stopped.code).toBe(3);
    expect(stopped.stderr.trim()).toBe("[CORE] Error: the core is not running. Fix: start it with `carapace start`.");
  });
});
