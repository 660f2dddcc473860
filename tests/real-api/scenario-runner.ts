/**
 * Runs agent scenarios in order through the compiled core, each in a fresh home whose egress proxy caps
 * every session at `[budget] session_tokens` (never more than what is left of the run's total). Once the
 * total is spent no further scenario starts: those are reported BUDGET_EXCEEDED.
 */
import { startCore } from "../harness/core.ts";
import type { Scenario, ScenarioOutcome } from "./scenarios.ts";

export type ScenarioStatus = "PASS" | "FAIL" | "BUDGET_EXCEEDED";

export interface ReportRow {
  name: string;
  status: ScenarioStatus;
  tokens: number;
  failures: string[];
}

export interface RunReport {
  rows: ReportRow[];
  total: number;
  budget: number;
}

export interface RunnerOptions {
  /** A fresh home for the scenario whose config.toml ends with `config` (the model, key and image set). */
  home(scenario: Scenario, config: string): Promise<{ home: string; close(): Promise<void> }>;
  sessionTokens: number;
  totalBudget: number;
  /** Text that must never appear in the CLI's or the core's output (the API key). */
  secret?: string;
}

async function approvePending(core: Awaited<ReturnType<typeof startCore>>, until: Promise<unknown>) {
  let approved = false;
  let finished = false;
  const stop = () => {
    finished = true;
  };
  void until.then(stop, stop);
  while (!finished) {
    const pending = JSON.parse((await core.carapace(["approvals", "--json"])).stdout || "[]") as { id: string }[];
    for (const p of pending) if ((await core.carapace(["approve", p.id])).code === 0) approved = true;
    await Bun.sleep(200);
  }
  return approved;
}

async function runOne(scenario: Scenario, options: RunnerOptions, cap: number): Promise<ReportRow> {
  const config = `${scenario.config ?? ""}[budget]\nsession_tokens = ${cap}\n`;
  const { home, close } = await options.home(scenario, config);
  scenario.setup?.(home);
  const core = await startCore({ home });
  const outcome: ScenarioOutcome = { exits: [], audit: [], approved: false };
  let output = "";
  try {
    for (const prompt of scenario.prompts) {
      const run = core.carapace(["prompt", prompt, "--group", scenario.group]);
      const approving = scenario.approve ? approvePending(core, run) : Promise.resolve(false);
      const r = await run;
      outcome.approved = (await approving) || outcome.approved;
      outcome.exits.push(r.code);
      output += r.stdout + r.stderr;
      // The checks name only the exit code; why it failed belongs in the run's output.
      if (r.code !== 0) {
        const agentLines = core
          .output()
          .split("\n")
          .filter((l) => l.includes("agent") || l.includes("ENTRYPOINT"))
          .slice(-20);
        console.error(
          `[SCENARIO] ${scenario.name}: the prompt exited ${r.code}:\n${r.stderr.trim()}\n${agentLines.join("\n")}`,
        );
      }
    }
    const usage = await core.carapace(["usage", "--json", "--group", scenario.group]);
    const tokens = (JSON.parse(usage.stdout || "[]") as { tokens: number }[]).reduce((n, row) => n + row.tokens, 0);
    outcome.audit = core.audit(scenario.group);
    const failures = scenario.check(outcome);
    if (options.secret && (output + core.output()).includes(options.secret)) failures.push("the API key leaked");
    const refusedForBudget = outcome.audit.some(
      (a) => a.kind === "egress" && a.outcome === "rejected" && (a.detail as { budget?: string })?.budget,
    );
    const status = failures.length === 0 ? "PASS" : refusedForBudget ? "BUDGET_EXCEEDED" : "FAIL";
    return { name: scenario.name, status, tokens, failures };
  } finally {
    await core.stop();
    await close();
  }
}

export async function runScenarios(scenarios: Scenario[], options: RunnerOptions): Promise<RunReport> {
  const rows: ReportRow[] = [];
  let total = 0;
  for (const scenario of scenarios) {
    const left = options.totalBudget - total;
    if (left <= 0) {
      rows.push({
        name: scenario.name,
        status: "BUDGET_EXCEEDED",
        tokens: 0,
        failures: ["the run's token budget is spent"],
      });
      continue;
    }
    let row: ReportRow;
    try {
      row = await runOne(scenario, options, Math.min(options.sessionTokens, left));
    } catch (error) {
      row = { name: scenario.name, status: "FAIL", tokens: 0, failures: [String(error)] };
    }
    rows.push(row);
    total += row.tokens;
  }
  return { rows, total, budget: options.totalBudget };
}

export function formatReport(report: RunReport): string {
  const width = Math.max(...report.rows.map((r) => r.name.length), 8);
  const lines = report.rows.map((r) => {
    const why = r.failures.length > 0 ? `  (${r.failures.join("; ")})` : "";
    return `${r.name.padEnd(width)}  ${r.status.padEnd(15)}  ${String(r.tokens).padStart(8)} tokens${why}`;
  });
  lines.push(
    `${"total".padEnd(width)}  ${"".padEnd(15)}  ${String(report.total).padStart(8)} tokens of ${report.budget}`,
  );
  return lines.join("\n");
}
