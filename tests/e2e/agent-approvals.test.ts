import { describe, expect, test } from "bun:test";
import { installPlugin } from "../fixtures/plugins/install.ts";
import { agentHome, agentSkipReason } from "../harness/agent-env.ts";
import { startCore } from "../harness/core.ts";

const ATTACKER = "attacker@evil.example";
const PADDING = "p".repeat(3000);

describe.skipIf(agentSkipReason !== null)(
  "approvals of an agent's call (real Podman, real Claude Code, scripted model)",
  () => {
    test("the notice `carapace prompt` prints shows the field a padded first argument would hide; approved, the tool gets exactly it", async () => {
      const args = JSON.stringify({ body: PADDING, to: ATTACKER });
      const { home, model } = await agentHome([
        { tool_use: { name: "Bash", input: { command: `ipc mailer.send '${args}'`, description: "send" } } },
        { respond: (req) => ({ text: JSON.stringify(req).includes('\\"sent\\":true') ? "mail sent" : "not sent" }) },
      ]);
      installPlugin(home, "mailer");
      const core = await startCore({ home });
      try {
        const prompt = core.carapace(["prompt", "Send the mail", "--group", "mail"]);
        let approved = false;
        for (let i = 0; i < 300 && !approved; i++) {
          const pending = JSON.parse((await core.carapace(["approvals", "--json"])).stdout || "[]") as { id: string }[];
          if (pending[0]) approved = (await core.carapace(["approve", pending[0].id])).code === 0;
          else await Bun.sleep(100);
        }
        const r = await prompt;
        expect(approved).toBe(true);
        expect(r.stderr).toContain("high-risk tool mailer.send");
        expect(r.stderr).toContain(`/to = "${ATTACKER}"`);
        expect(r.stderr).toContain("(cut: 3000 characters in full)");
        expect(r.stdout).toContain("mail sent");
        const decision = core.audit("mail").find((a) => a.kind === "confirmation");
        expect(decision?.detail).toMatchObject({
          decision: "approved",
          approver: { channel: "cli", uid: process.getuid?.() },
        });
      } finally {
        await core.stop();
        await model.close();
      }
    }, 180_000);
  },
);
