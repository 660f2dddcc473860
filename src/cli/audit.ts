import { homedir } from "node:os";
import { join } from "node:path";
import { defineCommand } from "citty";
import { auditDir, listLogs } from "../core/response/audit-files.ts";
import { readRecent } from "../core/response/audit-read.ts";
import { type AuditRecord, isLogName } from "../core/response/audit-record.ts";
import { verifyAudit } from "../core/response/audit-verify.ts";
import { singleLine, terminalSafeJson } from "../core/response/terminal-text.ts";

/** `carapace audit verify|tail`: reads `<home>/data/audit` directly, so it works with the core stopped. */

export interface Output {
  out(line: string): void;
  err(line: string): void;
}

const consoleOutput: Output = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

export function carapaceHome(): string {
  const fromEnv = process.env.CARAPACE_HOME;
  return fromEnv !== undefined && fromEnv !== "" ? fromEnv : join(homedir(), ".carapace");
}

function invalidGroup(group: string, io: Output): number {
  io.err(
    `[AUDIT] Error: "${singleLine(group).slice(0, 64)}" is not a valid group name. Fix: use a name matching [a-z0-9][a-z0-9_-]{0,31}, or _core for the core log.`,
  );
  return 2;
}

/** Exit code: 0 every chain intact, 1 a problem was found, 2 usage error. */
export async function runAuditVerify(
  home: string,
  group: string | undefined,
  io: Output = consoleOutput,
  json = false,
): Promise<number> {
  if (group !== undefined && !isLogName(group)) return invalidGroup(group, io);
  const results = await verifyAudit(home, group);
  if (json) {
    io.out(JSON.stringify(results));
    return results.every((r) => r.ok) ? 0 : 1;
  }
  if (results.length === 0) {
    io.out(`No audit logs in ${auditDir(home)}.`);
    return 0;
  }
  let failed = false;
  for (const result of results) {
    if (result.ok) {
      io.out(`${result.log}: ok (${result.records} records)`);
      continue;
    }
    failed = true;
    const count = result.problems.length;
    io.out(`${result.log}: ${count} problem${count === 1 ? "" : "s"} in ${result.records} records`);
    for (const p of result.problems) {
      const where = p.line === null ? p.file : `${p.file} line ${p.line}`;
      const seq = p.seq === null ? "" : ` (seq ${p.seq})`;
      io.out(`  ${singleLine(where)}${seq}: ${p.what} — ${singleLine(p.detail)}`);
    }
  }
  if (failed) {
    io.err(
      "[AUDIT] Error: the audit chain is broken (lines above). Fix: keep the files as evidence; move the damaged group's files out of the audit directory to start a new chain.",
    );
  }
  return failed ? 1 : 0;
}

export interface TailOptions {
  group?: string;
  correlation?: string;
  lines: number;
  json: boolean;
}

/** Exit code: 0 printed (possibly nothing), 2 usage error. */
export async function runAuditTail(home: string, options: TailOptions, io: Output = consoleOutput): Promise<number> {
  if (options.group !== undefined && !isLogName(options.group)) return invalidGroup(options.group, io);
  if (!Number.isInteger(options.lines) || options.lines < 1 || options.lines > 1000) {
    io.err("[AUDIT] Error: -n must be a whole number from 1 to 1000. Fix: for example `carapace audit tail -n 50`.");
    return 2;
  }
  const dir = auditDir(home);
  const logs = options.group === undefined ? listLogs(dir) : [options.group];
  const filter = {
    limit: options.lines,
    ...(options.correlation === undefined ? {} : { correlation: options.correlation }),
  };
  const merged: { log: string; record: AuditRecord }[] = [];
  for (const log of logs) {
    for (const record of await readRecent(dir, log, filter)) merged.push({ log, record });
  }
  merged.sort(
    (a, b) => a.record.ts.localeCompare(b.record.ts) || a.log.localeCompare(b.log) || a.record.seq - b.record.seq,
  );
  for (const { log, record } of merged.slice(-options.lines)) {
    io.out(options.json ? terminalSafeJson({ log, ...record }) : formatRecord(log, record));
  }
  return 0;
}

function formatRecord(log: string, r: AuditRecord): string {
  const parts = [r.ts, log, `#${r.seq}`, r.kind, r.outcome, r.topic ?? "-"];
  if (r.stage !== undefined) parts.push(`stage=${r.stage}`);
  if (r.code !== undefined) parts.push(`code=${r.code}`);
  if (r.correlation) parts.push(`corr=${r.correlation}`);
  if (r.session) parts.push(`session=${r.session}`);
  if (r.detail !== undefined) parts.push(terminalSafeJson(r.detail));
  return singleLine(parts.join(" "));
}

const groupArg = { type: "string", description: "Only this group's log (_core for the core log)" } as const;

export const auditVerifyCommand = defineCommand({
  meta: {
    name: "verify",
    description:
      "Check the audit hash chains. Exit codes: 0 intact, 1 a problem was found (file and line named), 2 usage error.",
  },
  args: { group: groupArg, json: { type: "boolean", description: "Print the results as JSON", default: false } },
  async run({ args }) {
    process.exitCode = await runAuditVerify(carapaceHome(), args.group, consoleOutput, args.json);
  },
});

export const auditTailCommand = defineCommand({
  meta: {
    name: "tail",
    description: "Print the most recent audit records. Exit codes: 0 printed, 2 usage error.",
  },
  args: {
    group: groupArg,
    correlation: { type: "string", description: "Only records with this correlation id" },
    lines: { type: "string", alias: "n", description: "How many records", default: "20" },
    json: { type: "boolean", description: "One JSON object per line", default: false },
  },
  async run({ args }) {
    process.exitCode = await runAuditTail(carapaceHome(), {
      group: args.group,
      correlation: args.correlation,
      lines: Number(args.lines),
      json: args.json,
    });
  },
});

export const auditCommand = defineCommand({
  meta: {
    name: "audit",
    description: "Inspect the audit log under $CARAPACE_HOME/data/audit (works while the core is stopped).",
  },
  subCommands: { verify: auditVerifyCommand, tail: auditTailCommand },
});
