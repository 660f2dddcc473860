import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { instanceId } from "../../src/container/lockdown.ts";
import { AGENT_PATHS } from "../../src/container/paths.ts";
import { FIXTURE_TOKEN, stdioServerToml, storeFixtureToken } from "../fixtures/mcp-server/setup.ts";
import { agentHome, agentSkipReason } from "../harness/agent-env.ts";
import { startCore } from "../harness/core.ts";
import { containerProcessEnvs, inspectEnv } from "../security/hostile-agent/container-inspect.ts";

const bash = (command: string) => ({ tool_use: { name: "Bash", input: { command, description: "run a tool" } } });

function containersOf(home: string): string[] {
  const r = Bun.spawnSync(
    ["podman", "ps", "--filter", `label=io.carapace.instance=${instanceId(home)}`, "--format", "{{.Names}}"],
    { stdout: "pipe", stderr: "pipe" },
  );
  return r.stdout
    .toString()
    .split("\n")
    .filter((n) => n.startsWith("carapace-"));
}

function filesUnder(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir)) {
    if (entry === "credentials") continue;
    const path = join(dir, entry);
    const st = statSync(path, { throwIfNoEntry: false });
    if (st?.isDirectory()) filesUnder(path, out);
    else if (st?.isFile()) out.push(path);
  }
  return out;
}

describe.skipIf(agentSkipReason !== null)(
  "an MCP server's tools for the agent (real Podman, real Claude Code, scripted model)",
  () => {
    test("the agent calls the read-only tool at once; the side-effecting one waits for approval; the credential stays on the host", async () => {
      const { home, model } = await agentHome(
        [
          bash(`ipc fx.read_note '{"title":"groceries"}'`),
          bash(`ipc fx.send_message '{"to":"ann","body":"hi"}'`),
          // The generated skill, as the agent reads it.
          { tool_use: { name: "Read", input: { file_path: `${AGENT_PATHS.skills}/mcp-fx/SKILL.md` } } },
          {
            respond: (req) => {
              const seen = JSON.stringify(req);
              const ok =
                seen.includes("buy milk") && seen.includes("sent to ann") && seen.includes("untrusted_content");
              return { text: ok ? "read the note and sent the message" : "something was missing" };
            },
          },
        ],
        `\n${stdioServerToml("fx")}`,
      );
      storeFixtureToken(home);
      const core = await startCore({ home });
      let approvedAfterCheck = false;
      let envs: Record<string, string>[] = [];
      let inspected: string[] = [];
      try {
        const prompt = core.carapace(["prompt", "Read the note, then message Ann", "--group", "mcp"]);
        for (let i = 0; i < 300 && !approvedAfterCheck; i++) {
          const pending = JSON.parse((await core.carapace(["approvals", "--json"])).stdout || "[]") as {
            id: string;
            tool: string;
          }[];
          const mine = pending.find((p) => p.tool === "fx.send_message");
          if (!mine) {
            await Bun.sleep(100);
            continue;
          }
          // While the call waits: the read-only tool has run, the side effect has not, and the
          // container (every process, and what inspect shows) holds nothing of the server's credential.
          const audit = core.audit("mcp");
          expect(audit.some((a) => a.kind === "routed" && a.topic === "tool.invoke.fx.read_note")).toBe(true);
          expect(audit.some((a) => a.kind === "routed" && a.topic === "tool.invoke.fx.send_message")).toBe(false);
          const [container] = containersOf(home);
          envs = containerProcessEnvs(container as string);
          inspected = inspectEnv(container as string);
          approvedAfterCheck = (await core.carapace(["approve", mine.id])).code === 0;
        }
        const r = await prompt;
        expect(approvedAfterCheck).toBe(true);
        expect(r.stdout).toContain("read the note and sent the message");
        expect(envs.length).toBeGreaterThan(0);
        expect(JSON.stringify(envs)).not.toContain(FIXTURE_TOKEN);
        expect(inspected.join("\n")).not.toContain(FIXTURE_TOKEN);
        // What crossed from the container to the model: the skill and the results, never the credential.
        const transcript = JSON.stringify(model.requests.map((q) => q.body));
        expect(transcript).toContain("fx.read_note");
        expect(transcript).toContain("risk: high - waits for a person's approval");
        expect(transcript).not.toContain(FIXTURE_TOKEN);
        const audit = core.audit("mcp");
        expect(audit.find((a) => a.kind === "confirmation")?.detail).toMatchObject({ decision: "approved" });
        expect(JSON.stringify(audit)).not.toContain(FIXTURE_TOKEN);
      } finally {
        await core.stop();
        await model.close();
      }
      expect(core.output()).not.toContain(FIXTURE_TOKEN);
      for (const file of filesUnder(home))
        expect({ file, leaked: readFileSync(file).toString("latin1").includes(FIXTURE_TOKEN) }).toEqual({
          file,
          leaked: false,
        });
    }, 240_000);
  },
);
