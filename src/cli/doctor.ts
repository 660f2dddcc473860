import { defineCommand } from "citty";
import { stripTerminalEscapes } from "../core/response/terminal-text.ts";
import { attackReportText } from "../doctor/attack/report.ts";
import { runAttack } from "../doctor/attack/run.ts";
import { ATTACK_STEPS } from "../doctor/attack/steps.ts";
import { type CheckResult, posture } from "../doctor/check.ts";
import {
  checkApiCredential,
  checkConfig,
  checkCredentials,
  checkLibzmq,
  checkPlugins,
  checkRuntime,
  checkSockets,
} from "../doctor/checks.ts";
import { checkHello } from "../doctor/hello.ts";
import { checkImagePin } from "../doctor/image-pin.ts";
import { checkMcpServers } from "../doctor/mcp.ts";
import { callCore } from "../ipc/call.ts";
import { containerProbe } from "./container-probe.ts";
import { control } from "./control-client.ts";
import { EXIT, UserError } from "./errors.ts";
import { liveServers } from "./mcp.ts";
import { printJson, withHome } from "./run-command.ts";

/** --live: a real round trip through a running core: open a session, call hello.time, close it. */
function liveCheck(home: string): CheckResult[] {
  try {
    const session = control(home, "session.open", { group: "doctor" }) as { id: string; socket: string };
    try {
      const t0 = performance.now();
      const outcome = callCore(session.socket, "tool.invoke.get_session_info", {}, 5000);
      const fallback =
        outcome.kind === "error" ? callCore(session.socket, "tool.invoke.hello.time", {}, 5000) : outcome;
      const ms = (performance.now() - t0).toFixed(1);
      if (fallback.kind === "transport")
        return [
          {
            id: "live",
            title: "live round trip",
            level: "fail",
            detail: fallback.message,
            fix: "restart the core",
          },
        ];
      return [
        {
          id: "live",
          title: "live round trip",
          level: "pass",
          detail: `session opened, tool call answered through all six stages in ${ms} ms`,
        },
        ...livePluginChecks(outcome.kind === "result" ? outcome.result : null),
        ...liveStatusChecks(control(home, "status")),
      ];
    } finally {
      control(home, "session.close", { id: session.id });
    }
  } catch (e) {
    // A stopped core is not a weakness of the installation: nothing to round-trip, nothing at risk.
    if (e instanceof UserError && e.exitCode === EXIT.transport) {
      return [
        {
          id: "live",
          title: "live round trip",
          level: "warn",
          detail: "not made: the core is not running",
          fix: "start it with `carapace start`, then run `carapace doctor --live` again",
        },
      ];
    }
    return [
      {
        id: "live",
        title: "live round trip",
        level: "fail",
        detail: (e as Error).message,
        fix: "check the core's output",
      },
    ];
  }
}

/** --attack: the empirical self-test; its own core and home, the user's runtime and image. */
async function attack(home: string, json: boolean): Promise<number> {
  if (!json) {
    process.stdout.write(
      "== carapace doctor --attack: a real session in the locked-down container; a built-in SCRIPTED model plays a compromised agent ==\n" +
        "   (temporary home; your own home, core and data are not touched)\n\n",
    );
  }
  const report = await runAttack({
    userHome: home,
    carapaceBin: process.execPath,
    steps: ATTACK_STEPS,
    log: json ? undefined : (line) => process.stdout.write(`${line}\n`),
  });
  if (json) printJson(report);
  else process.stdout.write(`\n${attackReportText(report)}`);
  return report.ok ? EXIT.ok : EXIT.failure;
}

/** --probe: the short container probe install.sh and setup run; a probe that cannot run yet only warns. */
async function probe(home: string, json: boolean): Promise<number> {
  const results = await containerProbe(home);
  if (json) printJson({ checks: results });
  else for (const r of results) writeCheck(r);
  return results.some((r) => r.level === "fail") ? EXIT.failure : EXIT.ok;
}

/** Plugins the running core has failed (a crash loop, a failed restart), from get_session_info. */
function livePluginChecks(info: unknown): CheckResult[] {
  const plugins = (info as { plugins?: { name: string; status: string; category?: string; reason?: string }[] } | null)
    ?.plugins;
  return (plugins ?? [])
    .filter((p) => p.status !== "healthy")
    .map((p) => ({
      id: `live.plugins.${p.name}`,
      title: `plugin ${stripTerminalEscapes(p.name)} (running core)`,
      level: "warn" as const,
      detail: `${p.status}: ${stripTerminalEscapes(`${p.category ?? "unknown"}: ${p.reason ?? ""}`)}`,
      fix: "see the core's log for the plugin's last lines; fix it and reload it or restart the core",
    }));
}

/** What the running core's status reports beyond the round trip: unwritten audit records, pre-started containers. */
function liveStatusChecks(status: unknown): CheckResult[] {
  return [...liveAuditChecks(status), ...liveWarmChecks(status)];
}

/** The pre-started containers the running core holds (`[runtime] prestart`), none when it is off. */
export function liveWarmChecks(status: unknown): CheckResult[] {
  const warm = (status as { warm_containers?: unknown } | null)?.warm_containers;
  if (!Array.isArray(warm)) return [];
  const groups = warm.map((w) => `${(w as { group?: unknown }).group} (${(w as { state?: unknown }).state})`);
  return [
    {
      id: "live.prestart",
      title: "pre-started containers",
      level: "pass",
      detail: warm.length ? `${warm.length}: ${groups.join(", ")}` : "none",
    },
  ];
}

/** Audit records the running core could not write (events nobody waited on), from its status. */
export function liveAuditChecks(status: unknown): CheckResult[] {
  const unwritten = (status as { unwritten_audit_records?: unknown } | null)?.unwritten_audit_records;
  if (typeof unwritten !== "number" || unwritten === 0) return [];
  return [
    {
      id: "live.audit",
      title: "audit log (running core)",
      level: "warn",
      detail: `${unwritten} audit record(s) could not be written since the core started`,
      fix: "see the [AUDIT] errors in the core's log; free disk space or fix the permissions of the audit folder",
    },
  ];
}

const MARK = { pass: "✓", warn: "!", fail: "✗" } as const;

/** One check as a line (and its fix on the next), the form doctor and setup print. */
export function writeCheck(r: CheckResult): void {
  process.stdout.write(`${MARK[r.level]} ${r.level.padEnd(4)} ${r.title}: ${r.detail}\n`);
  if (r.fix && r.level !== "pass") process.stdout.write(`         Fix: ${r.fix}\n`);
}

export const doctorCommand = defineCommand({
  meta: {
    name: "doctor",
    description:
      "Check the installation: runtime and isolation, image, config, credentials (and running as root), sockets, libzmq.\n" +
      "Each check passes, warns or fails, with a fix. Exit codes: 0 no failures (warnings allowed); 1 at least one failure (with --attack: a step LEAKED or could not be judged).",
  },
  args: {
    json: { type: "boolean", description: "Print JSON", default: false },
    live: { type: "boolean", description: "Also make a real call through the running core", default: false },
    probe: {
      type: "boolean",
      description:
        "Instead: run a short probe in a locked-down agent container (no network, read-only root, only ipc reaches the core); exit 1 if it fails",
      default: false,
    },
    attack: {
      type: "boolean",
      description:
        "Instead: attack the boundary from inside a real container (temporary home, scripted agent); exit 1 on any leak",
      default: false,
    },
  },
  run: ({ args }) =>
    withHome(async (home) => {
      if (args.attack) return attack(home, args.json);
      if (args.probe) return probe(home, args.json);
      const { result: configResult, config } = checkConfig(home);
      const results: CheckResult[] = [
        configResult,
        ...checkCredentials(home),
        checkApiCredential(home),
        checkSockets(home),
        checkLibzmq(),
        ...checkPlugins(home, config),
        ...checkMcpServers(config?.mcp.servers ?? {}, config ? liveServers(home) : null),
        checkHello(home, config),
        ...(await checkRuntime(config)),
        await checkImagePin(home, config),
      ];
      if (args.live) results.push(...liveCheck(home));
      const summary = posture(results);
      if (args.json) {
        printJson({ posture: summary, checks: results });
      } else {
        for (const r of results) writeCheck(r);
        process.stdout.write(`\nSecurity posture: ${summary.toUpperCase()}\n`);
      }
      return results.some((r) => r.level === "fail") ? EXIT.failure : EXIT.ok;
    }),
});
