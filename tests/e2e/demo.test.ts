import { expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { agentImage, agentSkipReason } from "../harness/agent-env.ts";
import { ensureBinaries } from "../harness/binaries.ts";
import { tempHome } from "../harness/core.ts";
import { runCommand } from "../harness/run.ts";

test.skipIf(agentSkipReason !== null)(
  "carapace demo: a labelled scripted session with hello, memory, a high-risk approval and the audit trail",
  async () => {
    const { carapace } = ensureBinaries();
    const home = tempHome();
    // The demo runs the user's configured image: here this clone's.
    writeFileSync(join(home, "config.toml"), `[runtime]\nimage = "${agentImage.tag}"\n`, { mode: 0o600 });
    const { stdout: out, code } = await runCommand([carapace, "demo"], {
      env: { PATH: "/usr/bin:/bin", HOME: home, CARAPACE_HOME: home },
    });
    expect(code).toBe(0);
    expect(out).toContain("SCRIPTED model");
    expect(out).toContain("[scripted model] Done");
    expect(out).toContain("approving it, as you would with: carapace approve");
    for (const topic of [
      "tool.invoke.hello.greet",
      "tool.invoke.memory_store",
      "tool.invoke.memory_search",
      "tool.invoke.demo_outbox.send",
    ]) {
      expect(out).toMatch(new RegExp(`routed ok ${topic.replaceAll(".", "\\.")} `));
    }
    expect(out).toContain("code=VALIDATION_FAILED");
    expect(out).not.toContain("sk-ant-demo-key");
  },
  120_000,
);
