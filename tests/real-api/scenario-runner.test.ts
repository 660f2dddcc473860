import { describe, expect, test } from "bun:test";
import { agentHome, agentSkipReason } from "../harness/agent-env.ts";
import { formatReport, type RunnerOptions, runScenarios } from "./scenario-runner.ts";
import { SCENARIOS, type Scenario } from "./scenarios.ts";

/** The real-API scenario runner, proven with the same scenario definitions against the scripted model. */
const pick = (...names: string[]): Scenario[] =>
  names.map(
    (n) =>
      SCENARIOS.find((s) => s.name === n) ??
      (() => {
        throw new Error(`no scenario ${n}`);
      })(),
  );

const scripted = (totalBudget: number): RunnerOptions => ({
  totalBudget,
  sessionTokens: 1_000_000,
  async home(scenario, config) {
    const { home, model } = await agentHome(scenario.script, config);
    return { home, close: () => model.close() };
  },
});

describe.skipIf(agentSkipReason !== null)("scenario runner (real Podman, real Claude Code, scripted model)", () => {
  test("runs every scenario in order; reports PASS, or FAIL with why, with the tokens each used and the total", async () => {
    const [happy] = pick("happy-path tool call") as [Scenario];
    // The same scripted run as the happy path, checked for a rejection it never produces.
    const wrong: Scenario = { ...happy, name: "expects a rejection", check: () => ["no VALIDATION_FAILED at stage 3"] };
    const report = await runScenarios([...SCENARIOS, wrong], scripted(100_000_000));
    const text = formatReport(report);
    console.log(text);
    expect(report.rows.map((r) => [r.name, r.status, r.failures])).toEqual([
      ...SCENARIOS.map((s) => [s.name, "PASS", []]),
      [wrong.name, "FAIL", ["no VALIDATION_FAILED at stage 3"]],
    ]);
    for (const row of report.rows) expect(row.tokens).toBeGreaterThan(0);
    expect(report.total).toBe(report.rows.reduce((n, r) => n + r.tokens, 0));
    expect(text).toContain(`${report.total} tokens of 100000000`);
    expect(text).toMatch(/happy-path tool call\s+PASS/);
  }, 900_000);

  test("the hard cap stops a scenario mid-run and, once the total is spent, no later scenario starts", async () => {
    const [happy, chain] = pick("happy-path tool call", "multi-tool chain") as [Scenario, Scenario];
    const report = await runScenarios([happy, chain], scripted(1));
    // A one-token cap: the first request is answered, the next is refused by the egress proxy.
    expect(report.rows[0]).toMatchObject({ name: happy.name, status: "BUDGET_EXCEEDED" });
    expect(report.rows[0]?.tokens).toBeGreaterThan(0);
    expect(report.rows[1]).toMatchObject({ name: chain.name, status: "BUDGET_EXCEEDED", tokens: 0 });
    expect(formatReport(report)).toMatch(/multi-tool chain\s+BUDGET_EXCEEDED\s+0 tokens/);
  }, 400_000);
});
