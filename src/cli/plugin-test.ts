import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { defineCommand } from "citty";
import { stripTerminalEscapes } from "../core/response/terminal-text.ts";
import { IS_COMPILED } from "../platform/compiled.ts";
import { type ConformanceRow, runConformance } from "../plugins/testing/conformance.ts";
import { CliError, EXIT } from "./errors.ts";
import { printJson, withHome } from "./run-command.ts";
import { testingPreload } from "./sdk-artifacts.ts";

const OWN_TESTS_TIMEOUT_MS = 120_000;
const MARK = { pass: "✓", fail: "✗", skip: "-" } as const;

function hasOwnTests(dir: string): boolean {
  return readdirSync(dir).some((f) => f.endsWith(".test.ts"));
}

/**
 * The plugin's own *.test.ts under `bun test`, with @carapace/sdk and @carapace/testing preloaded.
 * Inside the compiled binary, `BUN_BE_BUN=1` makes the binary act as the bun it was built with.
 */
async function runOwnTests(dir: string): Promise<ConformanceRow> {
  const compiled = IS_COMPILED;
  const scratch = mkdtempSync(join(tmpdir(), "carapace-plugin-test-"));
  try {
    let preload = join(import.meta.dir, "../plugins/testing/preload.ts");
    if (compiled) {
      preload = join(scratch, "preload.js");
      writeFileSync(preload, await testingPreload(), { mode: 0o600 });
    }
    const proc = Bun.spawn([process.execPath, "test", "--preload", preload], {
      cwd: dir,
      env: { ...process.env, BUN_BE_BUN: "1", NO_COLOR: "1" },
      stdout: "pipe",
      stderr: "pipe",
    });
    const timer = setTimeout(() => proc.kill(), OWN_TESTS_TIMEOUT_MS);
    const [stdout, stderr, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ]);
    clearTimeout(timer);
    const output = stripTerminalEscapes(`${stdout}${stderr}`);
    const pass = output.match(/(\d+) pass/)?.[1] ?? "0";
    const fail = output.match(/(\d+) fail/)?.[1] ?? "0";
    if (code === 0) return { check: "the plugin's own tests", outcome: "pass", detail: `${pass} passed` };
    process.stderr.write(output);
    return {
      check: "the plugin's own tests",
      outcome: "fail",
      detail: `${fail} failed, ${pass} passed (output above)`,
    };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function printTable(rows: ConformanceRow[]): void {
  const width = Math.min(Math.max(...rows.map((r) => r.check.length), 10), 60);
  for (const r of rows) {
    const detail = stripTerminalEscapes(r.detail).replace(/[\r\n]+/g, " ");
    process.stdout.write(`${MARK[r.outcome]} ${r.outcome.padEnd(4)} ${r.check.padEnd(width)}  ${detail}\n`);
  }
}

export const testCommand = defineCommand({
  meta: {
    name: "test",
    description:
      "Run the conformance suite on a plugin folder and print a pass/fail table.\n" +
      "Checks: the manifest, the import, initialize() within 10 s with fake services, every tool with minimal valid and with invalid arguments (only ToolError may be thrown, nothing credential-shaped returned), shutdown() within 5 s; then the plugin's own *.test.ts with @carapace/testing.\n" +
      "Exit codes: 0 every check passed; 1 a check failed; 2 usage (no such folder).",
  },
  args: {
    dir: { type: "positional", description: "The plugin folder", required: true },
    json: { type: "boolean", description: "Print the rows as JSON", default: false },
    "own-tests": {
      type: "boolean",
      description: "Also run the plugin's *.test.ts (--no-own-tests skips them)",
      default: true,
    },
  },
  run: ({ args }) =>
    withHome(async () => {
      const dir = resolve(String(args.dir));
      if (!existsSync(dir) || !statSync(dir).isDirectory()) {
        throw new CliError(
          "PLUGIN",
          `${String(args.dir)} is not a folder`,
          "pass the path of a plugin folder",
          EXIT.usage,
        );
      }
      const rows = await runConformance(dir);
      const conformant = !rows.some((r) => r.outcome === "fail");
      if (conformant && args["own-tests"] && hasOwnTests(dir)) rows.push(await runOwnTests(dir));
      const failed = rows.filter((r) => r.outcome === "fail").length;
      if (args.json) printJson({ passed: failed === 0, rows });
      else {
        printTable(rows);
        process.stdout.write(failed === 0 ? "\nplugin conforms\n" : `\n${failed} check(s) failed\n`);
      }
      return failed === 0 ? EXIT.ok : EXIT.failure;
    }),
});
