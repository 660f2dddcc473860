import { expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeCredential } from "../../src/config/credentials.ts";
import { ensureHome } from "../../src/config/home.ts";
import { startCore, tempHome } from "../harness/core.ts";

/**
 * Opt-in: the agent against the real model API (`bun run test:real-api`). Runs only with a key and a
 * token budget, never in CI. The budget is the egress proxy's hard cap for the session ([budget]
 * session_tokens): a request past it is refused by the host, whatever the agent does; the proxy counts a
 * request's tokens when its answer ends, so one answer may overshoot. Tokens used are printed.
 */
const key = process.env.CARAPACE_REAL_API_KEY ?? "";
const budget = Number.parseInt(process.env.CARAPACE_REAL_API_TOKEN_BUDGET ?? "", 10);

function skipReason(): string | null {
  if (process.env.CI) return "never in CI (it spends money)";
  if (process.env.CARAPACE_REAL_API !== "1") return "run it with `bun run test:real-api`";
  if (key === "") return "set CARAPACE_REAL_API_KEY to an Anthropic API key";
  if (!Number.isSafeInteger(budget) || budget <= 0)
    return "set CARAPACE_REAL_API_TOKEN_BUDGET to the most tokens this run may spend (e.g. 20000)";
  return null;
}

const reason = skipReason();
if (reason !== null) console.warn(`[skip] real-API mode: ${reason}`);

test.skipIf(reason !== null)(
  "the real model answers through the locked-down agent, within the hard token budget",
  async () => {
    const { agentImage } = await import("../harness/agent-env.ts");
    const home = tempHome();
    ensureHome(home);
    writeFileSync(
      join(home, "config.toml"),
      `[runtime]\nimage = "${agentImage.tag}"\n[budget]\nsession_tokens = ${budget}\n`,
      { mode: 0o600 },
    );
    writeCredential(home, "anthropic_api_key", key);
    const core = await startCore({ home });
    try {
      const prompt = "Call the hello.echo tool with the message real-api-ok, then reply with exactly what it returned.";
      const r = await core.carapace(["prompt", prompt, "--group", "realapi"]);
      const usage = await core.carapace(["usage", "--json", "--group", "realapi"]);
      const rows = JSON.parse(usage.stdout) as { tokens: number; refusals?: number }[];
      const used = rows.reduce((n, row) => n + row.tokens, 0);
      console.log(`[real-api] tokens used: ${used} of a budget of ${budget}; prompt exit ${r.code}`);
      expect(used).toBeGreaterThan(0);
      if (r.code === 0) expect(r.stdout).toContain("real-api-ok");
      else expect(r.stderr).toContain("budget");
      expect(r.stdout + r.stderr + core.output()).not.toContain(key);
    } finally {
      await core.stop();
    }
  },
  600_000,
);
