/**
 * runAttack in this process (so its own code is measured), driving the compiled core on real Podman:
 * the canaries are planted where the steps look, the host reads the container's processes while it
 * runs, and the temporary world is gone afterwards.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runAttack } from "../../../src/doctor/attack/run.ts";
import { ATTACK_STEPS } from "../../../src/doctor/attack/steps.ts";
import type { AttackContext, AttackStep } from "../../../src/doctor/attack/types.ts";
import { agentImage, agentSkipReason } from "../../harness/agent-env.ts";
import { ensureBinaries } from "../../harness/binaries.ts";
import { tempHome } from "../../harness/core.ts";

describe.skipIf(agentSkipReason !== null)("runAttack (real Podman, real Claude Code)", () => {
  test("a probe step sees the planted host file on the host but not from inside; the world is removed after", async () => {
    const home = tempHome();
    writeFileSync(join(home, "config.toml"), `[runtime]\nimage = "${agentImage.tag}"\n`, { mode: 0o600 });
    let seenCtx: AttackContext | null = null;
    const probe: AttackStep = {
      id: "probe",
      title: "probe",
      turns: (ctx) => {
        seenCtx = ctx;
        return [{ tool_use: { name: "Read", input: { file_path: ctx.hostFile } } }];
      },
      laterReads: (ctx) => [ctx.otherGroupFile],
      judge: (ctx, mine, seen, later) => ({
        verdict: "contained",
        evidence: JSON.stringify({
          hostFileOnHost: existsSync(ctx.hostFile),
          inside: mine[0]?.result ?? "",
          later: later[0]?.result ?? "",
          processes: seen.containerEnvs?.length ?? -1,
          instructions: seen.instructions.includes("Carapace session (group: attacker)"),
        }),
      }),
    };
    const lines: string[] = [];
    const report = await runAttack({
      userHome: home,
      carapaceBin: ensureBinaries().carapace,
      steps: [probe, ...ATTACK_STEPS.filter((s) => s.id === "forged-group")],
      log: (l) => lines.push(l),
    });
    const evidence = JSON.parse(report.steps[0]?.evidence ?? "{}") as Record<string, unknown>;
    expect(evidence.hostFileOnHost).toBe(true);
    expect(evidence.inside).toContain("File does not exist");
    expect(evidence.later).toContain("File does not exist");
    expect(evidence.processes as number).toBeGreaterThan(0);
    expect(evidence.instructions).toBe(true);
    expect(report.steps[1]).toMatchObject({ id: "forged-group", verdict: "refused" });
    expect(report.ok).toBe(true);
    expect(lines[0]).toContain("2 hostile tool calls");
    const ctx = seenCtx as AttackContext | null;
    expect(ctx).not.toBeNull();
    expect(existsSync(ctx?.home ?? "/nonexistent-for-sure")).toBe(false);
  }, 240_000);
});
