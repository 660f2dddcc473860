import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { scratchRepo } from "./scratch-repo.ts";

const COPIES = ["build/check", "sgconfig.yml", "rules", "tests/rules"];
let repo: ReturnType<typeof scratchRepo> | undefined;
afterEach(() => repo?.remove());

function runAll(root: string, steps: string[]): { exitCode: number; output: string } {
  const result = Bun.spawnSync(["bash", join(root, "build/check/all.sh"), ...steps], {
    cwd: root,
    stdout: "pipe",
    stderr: "pipe",
  });
  return { exitCode: result.exitCode, output: `${result.stdout.toString()}${result.stderr.toString()}` };
}

test("prints a header and a result per step and passes when every step passes", () => {
  repo = scratchRepo(COPIES);
  repo.write("src/ok.ts", "export const ok = 1;\n");
  const { exitCode, output } = runAll(repo.root, ["shellcheck", "rules"]);
  expect(output).toMatch(/\[CHECK\] shellcheck \.\.\.\n\[CHECK\] shellcheck: ok \(\d+s\)/);
  expect(output).toMatch(/\[CHECK\] rules: ok \(\d+s\)/);
  expect(output).toContain("[CHECK] all 2 checks passed");
  expect(exitCode).toBe(0);
});

test("runs every step, shows a failing step's output and fails at the end", () => {
  repo = scratchRepo(COPIES);
  repo.write("src/db.ts", 'import { Database } from "bun:sqlite";\nexport const db = new Database(":memory:");\n');
  const { exitCode, output } = runAll(repo.root, ["rules", "shellcheck"]);
  expect(output).toContain("error[no-direct-database]");
  expect(output).toMatch(/\[CHECK\] rules: FAILED/);
  expect(output).toMatch(/\[CHECK\] shellcheck: ok/);
  expect(output).toContain("[CHECK] Error: 1 of 2 checks failed: rules.");
  expect(exitCode).toBe(1);
});

test("refuses an unknown step name", () => {
  repo = scratchRepo(COPIES);
  const { exitCode, output } = runAll(repo.root, ["lnit"]);
  expect(output).toContain(
    "[CHECK] Error: unknown step lnit. Fix: use one of: lockfile biome tsc shellcheck rules layers audit",
  );
  expect(exitCode).toBe(1);
});
