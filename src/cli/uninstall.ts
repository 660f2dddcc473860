/**
 * `carapace uninstall` (DX-10): shows exactly what goes (with sizes), stops a running core, then
 * removes the managed containers, the agent images, the marked PATH lines of rc files and the home.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { defineCommand } from "citty";
import { removeAgentTree } from "../container/agent-tree.ts";
import { bunExec } from "../container/exec.ts";
import { coreRunning } from "../core/core-lock.ts";
import { askerFor } from "./ask.ts";
import { control } from "./control-client.ts";
import { formatBytes } from "./disk-usage.ts";
import { CliError, EXIT, UserError } from "./errors.ts";
import { INSTALL_MARKER, removeMarkedLines } from "./rc-files.ts";
import { printJson, withHome } from "./run-command.ts";
import { DATA_ENTRIES, planUninstall, type UninstallPlan } from "./uninstall-plan.ts";

interface CoreStatus {
  pid: number;
  sessions: unknown[];
}

function runningCore(home: string): CoreStatus | null {
  try {
    return control(home, "status", {}, 3000) as CoreStatus;
  } catch (e) {
    if (e instanceof UserError && e.exitCode === EXIT.transport) return null;
    throw e;
  }
}

function describe(plan: UninstallPlan, core: CoreStatus | null): string {
  const out: string[] = [];
  const removedBytes = plan.homeItems.filter((i) => !i.kept).reduce((sum, i) => sum + i.bytes, 0);
  if (core !== null)
    out.push(
      `! A Carapace core is running (pid ${core.pid}) with ${core.sessions.length} open session(s); it is stopped first.`,
      "",
    );
  if (plan.homeExists) {
    const what = plan.keepData ? "everything except data/ and credentials/" : "the whole directory";
    out.push(`$CARAPACE_HOME ${plan.home}: ${what} (${formatBytes(removedBytes)})`);
    for (const item of plan.homeItems) {
      const name = `${item.name}${item.directory ? "/" : ""}`;
      out.push(`  ${item.kept ? "keep  " : "remove"} ${name.padEnd(16)} ${formatBytes(item.bytes).padStart(9)}`);
    }
  } else out.push(`$CARAPACE_HOME ${plan.home}: does not exist`);
  if (plan.binaries.length > 0) {
    out.push("Executables (in $CARAPACE_HOME/bin):");
    for (const b of plan.binaries) out.push(`  remove ${b.path} (${formatBytes(b.bytes)})`);
  }
  out.push(`Container runtime: ${plan.runtime.description}`);
  if (plan.runtime.runtime !== null) {
    out.push("  Images this home built:");
    if (plan.runtime.images.length === 0) out.push("    (none)");
    for (const image of plan.runtime.images) out.push(`    remove ${image.ref} (${image.size})`);
    out.push("  Containers this home's core started:");
    if (plan.runtime.containers.length === 0) out.push("    (none)");
    for (const c of plan.runtime.containers) out.push(`    remove ${c.name}${c.running ? " (running)" : ""}`);
  }
  out.push(`PATH lines install.sh added for ${join(plan.home, "bin")} (marked "${INSTALL_MARKER}"):`);
  if (plan.rcEdits.length === 0) out.push("  (none)");
  for (const edit of plan.rcEdits) {
    if (edit.removeFile) out.push(`  remove ${edit.path} (install.sh created it; it holds only this line)`);
    else for (const line of edit.lines) out.push(`  remove from ${edit.path}: ${line}`);
  }
  if (plan.foreignExecutable !== null)
    out.push(`Kept: ${plan.foreignExecutable} (not installed by install.sh; remove it the way you installed it)`);
  return `${out.join("\n")}\n`;
}

/** The plan as one JSON document, for `--json`. */
function planJson(plan: UninstallPlan, core: CoreStatus | null) {
  return {
    home: plan.home,
    home_exists: plan.homeExists,
    keep_data: plan.keepData,
    core_pid: core?.pid ?? null,
    home_items: plan.homeItems.map((i) => ({ path: i.path, bytes: i.bytes, kept: i.kept })),
    binaries: plan.binaries,
    runtime: plan.runtime.description,
    images: plan.runtime.images,
    containers: plan.runtime.containers,
    rc_lines: plan.rcEdits.flatMap((e) => e.lines.map((line) => ({ path: e.path, line }))),
    foreign_executable: plan.foreignExecutable,
  };
}

async function stopCore(home: string): Promise<void> {
  control(home, "stop");
  const deadline = Date.now() + 15_000;
  while (coreRunning(home)) {
    if (Date.now() > deadline)
      throw new CliError(
        "UNINSTALL",
        "the running core did not stop within 15 s; nothing was removed",
        "stop it with `carapace stop` (or end its process), then run `carapace uninstall` again",
      );
    await Bun.sleep(100);
  }
}

/** Removes what the plan lists; returns the things that could not be removed. */
async function execute(plan: UninstallPlan): Promise<string[]> {
  const problems: string[] = [];
  const { runtime } = plan.runtime;
  if (runtime !== null) {
    for (const c of plan.runtime.containers) {
      try {
        await runtime.remove(c.name);
      } catch (e) {
        problems.push(`container ${c.name}: ${(e as Error).message}`);
      }
    }
    for (const image of plan.runtime.images) {
      const r = await bunExec.run([runtime.name, "rmi", image.ref], { timeoutMs: 60_000 });
      if (r.code !== 0) problems.push(`image ${image.ref}: ${r.stderr.trim() || `exit ${r.code}`}`);
    }
  }
  for (const edit of plan.rcEdits) {
    try {
      removeMarkedLines(edit, join(plan.home, "bin"));
    } catch (e) {
      problems.push(`${edit.path}: ${(e as Error).message}`);
    }
  }
  if (plan.homeExists) {
    const targets = plan.keepData ? plan.homeItems.filter((i) => !i.kept).map((i) => i.path) : [plan.home];
    for (const path of targets) {
      try {
        // data/ holds the agents' workspaces: removed without following a link the agent planted.
        removeAgentTree(path);
      } catch (e) {
        problems.push(`${path}: ${(e as Error).message}`);
      }
    }
  }
  return problems;
}

export const uninstallCommand = defineCommand({
  meta: {
    name: "uninstall",
    description:
      "Remove this Carapace home: $CARAPACE_HOME (its executables, config, data and credentials), the images it built, the containers its core started and the PATH lines install.sh added for it.\n" +
      "Another home's images, containers and PATH lines are never touched.\n" +
      "Everything is listed with sizes first. A running core is stopped first with --yes; without --yes uninstall refuses while a core runs.\n" +
      "Exit codes: 0 removed, or listed with --dry-run; 1 refused or declined (a core runs without --yes, not a Carapace home) or something could not be removed; 2 usage (no terminal to confirm and no --yes).",
  },
  args: {
    "dry-run": { type: "boolean", description: "List what would be removed; change nothing", default: false },
    yes: { type: "boolean", description: "Remove without asking", default: false },
    json: {
      type: "boolean",
      description: "Print the list (and the outcome) as JSON; needs --yes or --dry-run",
      default: false,
    },
    "keep-data": {
      type: "boolean",
      description: `Keep ${DATA_ENTRIES.map((d) => `${d}/`).join(" and ")} (memories, audit logs, credentials)`,
      default: false,
    },
  },
  run: ({ args }) =>
    withHome(async (home) => {
      const plan = await planUninstall(home, { keepData: args["keep-data"] });
      const core = existsSync(home) ? runningCore(home) : null;
      if (args.json && !args.yes && !args["dry-run"])
        throw new CliError(
          "UNINSTALL",
          "--json cannot ask for confirmation; nothing was removed",
          "add --yes (or --dry-run)",
          EXIT.usage,
        );
      if (args.json && args["dry-run"]) {
        printJson({ plan: planJson(plan, core), removed: false });
        return EXIT.ok;
      }
      if (!args.json) process.stdout.write(describe(plan, core));
      if (args["dry-run"]) {
        process.stdout.write("\nDry run: nothing was changed.\n");
        return EXIT.ok;
      }
      if (core !== null && !args.yes)
        throw new CliError(
          "UNINSTALL",
          `a Carapace core is running (pid ${core.pid}, ${core.sessions.length} session(s)); nothing was removed`,
          "stop it with `carapace stop` first, or pass --yes to stop it and remove everything",
        );
      const ask = askerFor("UNINSTALL", args.yes);
      if (!args.yes && ask === null)
        throw new CliError(
          "UNINSTALL",
          "there is no terminal to confirm the removal, so nothing was removed",
          "pass --yes to remove without a question (or --dry-run to only list)",
          EXIT.usage,
        );
      if (ask !== null) {
        if (!(await ask.confirm("Remove all of this?", false))) {
          process.stdout.write("Nothing was removed.\n");
          return EXIT.failure;
        }
      }
      if (core !== null) await stopCore(home);
      const problems = await execute(plan);
      if (problems.length > 0) {
        throw new CliError(
          "UNINSTALL",
          `some things could not be removed: ${problems.join("; ")}`,
          "remove them by hand (run `carapace uninstall --dry-run` to list what is left)",
        );
      }
      if (args.json) {
        printJson({ plan: planJson(plan, core), removed: true });
        return EXIT.ok;
      }
      const kept = plan.keepData ? ` Kept ${DATA_ENTRIES.map((d) => join(home, d)).join(" and ")}.` : "";
      const freed = plan.homeItems.filter((i) => !i.kept).reduce((sum, i) => sum + i.bytes, 0);
      process.stdout.write(
        `\nCarapace is uninstalled (${formatBytes(freed)} freed in ${home}).${kept}` +
          `${plan.rcEdits.length > 0 ? " Open a new shell for the PATH change." : ""}\n`,
      );
      return EXIT.ok;
    }),
});
