import { expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeCredential } from "../../src/config/credentials.ts";
import { ensureHome } from "../../src/config/home.ts";
import { tempHome } from "../harness/core.ts";
import { formatReport, runScenarios } from "./scenario-runner.ts";
import { SCENARIOS } from "./scenarios.ts";

/**
 * Opt-in: the agent scenarios against the real model API (`bun run test:real-api`). Runs only with a key
 * and a token budget, never in CI. The budget is a hard cap enforced by the host's egress proxy: each
 * session gets `[budget] session_tokens` of at most what is left of the run's total, and no scenario starts
 * once the total is spent. The proxy counts a request's tokens when its answer ends, so one answer may
 * overshoot. The report prints PASS / FAIL / BUDGET_EXCEEDED and the tokens of each scenario.
 */
const key = process.env.CARAPACE_REAL_API_KEY ?? "";
const budget = Number.parseInt(process.env.CARAPACE_REAL_API_TOKEN_BUDGET ?? "", 10);
const sessionTokens = Number.parseInt(process.env.CARAPACE_REAL_API_SESSION_TOKENS ?? "", 10);

function skipReason(): string | null {
  if (process.env.CI) return "never in CI (it spends money)";
  if (process.env.CARAPACE_REAL_API !== "1") return "run it with `bun run test:real-api`";
  if (key === "") return "set CARAPACE_REAL_API_KEY to an Anthropic API key";
  if (!Number.isSafeInteger(budget) || budget <= 0)
    return "set CARAPACE_REAL_API_TOKEN_BUDGET to the most tokens this run may spend (e.g. 200000)";
  return null;
}

const reason = skipReason();
if (reason !== null) console.warn(`[skip] real-API mode: ${reason}`);

test.skipIf(reason !== null)(
  "the agent scenarios pass against the real model, within the hard token budget",
  async () => {
    const { agentImage } = await import("../harness/agent-env.ts");
    const report = await runScenarios(SCENARIOS, {
      totalBudget: budget,
      sessionTokens: Number.isSafeInteger(sessionTokens) && sessionTokens > 0 ? sessionTokens : budget,
      secret: key,
      async home(_scenario, config) {
        const home = tempHome();
        ensureHome(home);
        writeFileSync(join(home, "config.toml"), `[runtime]\nimage = "${agentImage.tag}"\n${config}`, { mode: 0o600 });
        writeCredential(home, "anthropic_api_key", key);
        return { home, close: async () => rmSync(home, { recursive: true, force: true }) };
      },
    });
    console.log(`[real-api] scenario report\n${formatReport(report)}`);
    expect(report.rows.filter((r) => r.status === "FAIL").map((r) => r.name)).toEqual([]);
  },
  3_600_000,
);
