import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { agentHome, agentSkipReason, homeContainers, REAL_KEY } from "../harness/agent-env.ts";
import { startCore } from "../harness/core.ts";

const bash = (command: string) => ({
  tool_use: { name: "Bash", input: { command, description: "run a Carapace tool" } },
});
const requestText = (body: unknown) => JSON.stringify(body);

describe.skipIf(agentSkipReason !== null)(
  "agent sessions end to end (real Podman, real Claude Code, scripted model)",
  () => {
    test("prompt → Claude Code in the locked container → ipc tool call → answer; cleaned up after", async () => {
      const { home, model } = await agentHome([
        bash(`ipc hello.echo '{"message":"from the agent"}'`),
        { text: "The echo tool answered: from the agent" },
      ]);
      const core = await startCore({ home });
      try {
        const r = await core.carapace(["prompt", "Use the echo tool", "--group", "demo"]);
        expect(r.stderr).not.toContain("Error");
        expect(r.code).toBe(0);
        expect(r.stdout).toContain("The echo tool answered: from the agent");
        // The model saw the real key only from the host proxy, and the tool result from inside the container.
        expect(model.requests.length).toBeGreaterThanOrEqual(2);
        for (const req of model.requests) expect(req.headers["x-api-key"]).toBe(REAL_KEY);
        expect(requestText(model.requests.at(-1)?.body)).toContain("from the agent");
        const audit = core.audit("demo");
        expect(audit.some((a) => a.kind === "routed" && a.topic === "tool.invoke.hello.echo")).toBe(true);
        expect(audit.some((a) => a.kind === "egress")).toBe(true);
        expect(JSON.stringify(audit)).not.toContain(REAL_KEY);
      } finally {
        await core.stop();
        await model.close();
      }
      expect(homeContainers(home).filter((n) => n.startsWith("carapace-"))).toEqual([]);
      expect(existsSync(join(home, "run/agents")) ? readdirSync(join(home, "run/agents")) : []).toEqual([]);
    }, 120_000);

    test("VALIDATION_FAILED then self-correction, and a failing agent gives a non-zero exit", async () => {
      const { home, model } = await agentHome([
        bash(`ipc hello.echo '{"msg":"wrong field"}'`),
        {
          respond: (req) =>
            requestText(req).includes("VALIDATION_FAILED")
              ? bash(`ipc hello.echo '{"message":"fixed"}'`)
              : { text: "did not see the validation error" },
        },
        { text: "Fixed it." },
      ]);
      const core = await startCore({ home });
      try {
        const r = await core.carapace(["prompt", "Use the echo tool", "--group", "fix"]);
        expect(r.code).toBe(0);
        expect(r.stdout).toContain("Fixed it.");
        expect(core.audit("fix").some((a) => a.code === "VALIDATION_FAILED" && a.stage === 3)).toBe(true);
        expect(core.audit("fix").some((a) => a.kind === "routed")).toBe(true);
      } finally {
        await core.stop();
        await model.close();
      }
    }, 120_000);

    test("adversarial turns: curl, env, /proc/self/environ and writing settings are refused or harmless", async () => {
      const { home, model } = await agentHome([
        bash("curl -s https://example.com"),
        bash("env"),
        bash("cat /proc/self/environ"),
        bash("echo '{}' > /etc/claude-code/managed-settings.json"),
        { text: "done probing" },
      ]);
      const core = await startCore({ home });
      try {
        const r = await core.carapace(["prompt", "probe", "--group", "adv"]);
        expect(r.code).toBe(0);
        const everything = JSON.stringify(model.requests.map((q) => q.body));
        expect(everything).not.toContain(REAL_KEY);
        expect(everything).not.toContain("example.com</");
      } finally {
        await core.stop();
        await model.close();
      }
    }, 120_000);
  },
);
