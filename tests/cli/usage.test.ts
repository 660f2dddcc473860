import { expect, test } from "bun:test";
import { ensureHome } from "../../src/config/home.ts";
import { AuditLog } from "../../src/core/response/audit-log.ts";
import { summarizeUsage } from "../../src/core/usage-summary.ts";
import { ensureBinaries } from "../harness/binaries.ts";
import { tempHome } from "../harness/core.ts";
import { runCommand } from "../harness/run.ts";

const home = tempHome();
ensureHome(home);

const egress = (group: string, detail: Record<string, unknown>) => ({
  kind: "egress" as const,
  outcome: detail.outcome === "forwarded" ? ("ok" as const) : ("rejected" as const),
  group,
  session: "s1",
  topic: "egress POST /v1/messages",
  detail: { method: "POST", path: "/v1/messages", requestBytes: 10, ...detail },
});

/** Every record is written at noon of one fixed day: no midnight between writing and reading them. */
const DAY = "2026-03-04";

async function writeRecords(): Promise<void> {
  const audit = new AuditLog(home, { syncIntervalMs: 5, clock: () => new Date(`${DAY}T12:00:00.000Z`) });
  await audit.append(egress("work", { status: 200, outcome: "forwarded", inputTokens: 100, outputTokens: 20 }));
  await audit.append(egress("work", { status: 200, outcome: "forwarded", inputTokens: 50, outputTokens: 5 }));
  await audit.append(egress("work", { status: 429, outcome: "refused", reason: "budget", budget: "session_requests" }));
  await audit.append(egress("work", { status: 401, outcome: "refused", reason: "wrong token" }));
  await audit.append(egress("home", { status: 200, outcome: "forwarded", inputTokens: 7, outputTokens: 1 }));
  await audit.append({ kind: "routed", outcome: "ok", group: "work", stage: 6 });
  await audit.close();
}

test("carapace usage sums tokens, calls and refusals per group and day from the audit log", async () => {
  await writeRecords();
  const env = { HOME: home, CARAPACE_HOME: home, PATH: "/usr/bin:/bin", NO_COLOR: "1" };
  const json = await runCommand([ensureBinaries().carapace, "usage", "--json"], { env });
  expect(json.code).toBe(0);
  expect(JSON.parse(json.stdout)).toEqual([
    {
      group: "home",
      day: DAY,
      input_tokens: 7,
      output_tokens: 1,
      tokens: 8,
      calls: 1,
      refusals: 0,
      budget_refusals: 0,
    },
    {
      group: "work",
      day: DAY,
      input_tokens: 150,
      output_tokens: 25,
      tokens: 175,
      calls: 2,
      refusals: 2,
      budget_refusals: 1,
    },
  ]);
  expect(await summarizeUsage(home)).toEqual(JSON.parse(json.stdout));
  expect((await summarizeUsage(home, { group: "work", day: DAY }))[0]?.budget_refusals).toBe(1);
  const one = await runCommand([ensureBinaries().carapace, "usage", "--group", "work"], { env });
  expect(one.code).toBe(0);
  expect(one.stdout).toContain("work");
  expect(one.stdout).not.toContain("home ");
  expect(one.stdout.split("\n")[1]).toMatch(new RegExp(`^${DAY}\\s+work\\s+175\\s+150\\s+25\\s+2\\s+2\\s+1$`));
  const bad = await runCommand([ensureBinaries().carapace, "usage", "--group", "Bad/Name"], { env });
  expect(bad.code).toBe(2);
  expect(await summarizeUsage(home, { group: "work", day: "1999-01-01" })).toEqual([]);
});
