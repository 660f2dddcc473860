import { describe, expect, test } from "bun:test";
import { cpSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureBinaries } from "../harness/binaries.ts";
import { tempHome } from "../harness/core.ts";
import { runCommand } from "../harness/run.ts";

type Check = { id: string; level: string; detail: string };

async function helloCheck(home: string): Promise<Check | undefined> {
  const { carapace } = ensureBinaries();
  const { stdout } = await runCommand([carapace, "doctor", "--json"], {
    env: { PATH: "/usr/bin:/bin", HOME: home, CARAPACE_HOME: home, TMPDIR: "/tmp" },
  });
  return (JSON.parse(stdout) as { checks: Check[] }).checks.find((c) => c.id === "hello");
}

describe("carapace doctor about the hello tools", () => {
  test("while they are on, it says how to turn them off", async () => {
    const c = await helloCheck(tempHome());
    expect(c?.level).toBe("pass");
    expect(c?.detail).toContain("carapace config set hello.enabled false");
    expect(c?.detail).toContain("once you no longer need them");
  });

  test("once a real plugin loads too, the hint says they may not be needed", async () => {
    const home = tempHome();
    cpSync(join(import.meta.dir, "../../examples/echo"), join(home, "plugins", "echo"), { recursive: true });
    const c = await helloCheck(home);
    expect(c?.detail).toContain("real plugins load too");
    expect(c?.detail).toContain("carapace config set hello.enabled false");
  });

  test("when turned off, it says they are off", async () => {
    const home = tempHome();
    writeFileSync(join(home, "config.toml"), "[hello]\nenabled = false\n");
    expect((await helloCheck(home))?.detail).toContain("off");
  });
});
