import { describe, expect, test } from "bun:test";
import { agentHome, agentSkipReason } from "../harness/agent-env.ts";
import { startCore } from "../harness/core.ts";

const bash = (command: string) => ({
  tool_use: { name: "Bash", input: { command, description: "call a Carapace tool" } },
});

describe.skipIf(agentSkipReason !== null)("spending budgets (real Podman, real Claude Code, scripted model)", () => {
  test("a session's request budget reached mid-session stops forwarding; the agent sees why; usage counts it", async () => {
    const { home, model } = await agentHome(
      [
        bash(`ipc hello.echo '{"message":"one"}'`),
        bash(`ipc hello.echo '{"message":"two"}'`),
        bash(`ipc hello.echo '{"message":"three"}'`),
        { text: "all three done" },
      ],
      "[budget]\nsession_requests = 2\n",
    );
    const core = await startCore({ home });
    try {
      const r = await core.carapace(["prompt", "Echo three times", "--group", "spender"]);
      // The model saw at most two requests of this session: the third was refused before forwarding.
      expect(model.requests.length).toBeLessThanOrEqual(2);
      expect(r.stdout).not.toContain("all three done");
      expect(`${r.stdout}${r.stderr}`).toContain("budget");
      const refused = core
        .audit("spender")
        .filter((a) => a.kind === "egress" && a.outcome === "rejected")
        .map((a) => a.detail as Record<string, unknown>);
      expect(refused.length).toBeGreaterThan(0);
      expect(refused[0]).toMatchObject({ status: 429, budget: "session_requests" });
      const usage = await core.carapace(["usage", "--group", "spender", "--json"]);
      expect(usage.code).toBe(0);
      const [row] = JSON.parse(usage.stdout) as Record<string, number>[];
      expect(row?.calls).toBe(model.requests.length);
      expect(row?.budget_refusals).toBe(refused.length);
    } finally {
      await core.stop();
      await model.close();
    }
  }, 180_000);
});
