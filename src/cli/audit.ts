import { existsSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { defineCommand } from "citty";
import {
  checkpointPublicKey,
  checkpointsFile,
  exportCheckpoints,
  readCheckpoints,
} from "../core/response/audit-checkpoint.ts";
import { auditDir, chainFiles, listLogs } from "../core/response/audit-files.ts";
import { readRecent, streamLines } from "../core/response/audit-read.ts";
import { type AuditRecord, CORE_LOG, isLogName } from "../core/response/audit-record.ts";
import { verifyAudit } from "../core/response/audit-verify.ts";
import { singleLine, terminalSafeJson } from "../core/response/terminal-text.ts";
import { control } from "./control-client.ts";

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

export interface VerifyFlags {
  json?: boolean;
  /** An exported checkpoints file (`carapace audit checkpoint --export`) kept elsewhere. */
  checkpoints?: string;
}

interface CheckpointSummary {
  count: number;
  problems: { file: string; line: number; detail: string }[];
  note: string | null;
}

/** The signed checkpoints (local file, and an exported copy if given) and what they pin per log. */
async function loadPins(home: string, exported: string | undefined) {
  const key = checkpointPublicKey(home);
  const local = await readCheckpoints(checkpointsFile(home), key);
  const pinned = new Map(local.pinned);
  const summary: CheckpointSummary = {
    count: local.count,
    problems: local.problems.map((p) => ({ file: "audit-checkpoints.jsonl", ...p })),
    note: null,
  };
  if (exported !== undefined) {
    const copy = await readCheckpoints(exported, key);
    summary.problems.push(...copy.problems.map((p) => ({ file: exported, ...p })));
    for (const [log, pin] of copy.pinned) {
      const mine = pinned.get(log);
      if (!mine || pin.seq > mine.seq) pinned.set(log, { ...pin, source: `${pin.source} of ${exported}` });
    }
    if (copy.count > local.count)
      summary.problems.push({
        file: "audit-checkpoints.jsonl",
        line: local.count + 1,
        detail: `the exported copy holds checkpoints up to #${copy.count}, this home only up to #${local.count}`,
      });
  }
  if (key === null && exported === undefined)
    summary.note = "no checkpoint key in this home: the chains are checked against their heads only";
  return { pinned, summary };
}

/** The highest checkpoint count the core log says existed (each start records it). */
async function checkpointsMentioned(home: string): Promise<number> {
  let most = 0;
  for (const file of chainFiles(auditDir(home), CORE_LOG)) {
    for await (const line of streamLines(file)) {
      const detail = line.record?.detail as { event?: unknown; checkpoints?: unknown } | undefined;
      if (detail?.event === "core started" && typeof detail.checkpoints === "number")
        most = Math.max(most, detail.checkpoints);
    }
  }
  return most;
}

/** Exit code: 0 every chain intact, 1 a problem was found, 2 usage error. */
export async function runAuditVerify(
  home: string,
  group: string | undefined,
  io: Output = consoleOutput,
  flags: VerifyFlags = {},
): Promise<number> {
  if (group !== undefined && !isLogName(group)) return invalidGroup(group, io);
  if (flags.checkpoints !== undefined && !existsSync(flags.checkpoints)) {
    io.err(
      `[AUDIT] Error: no checkpoints file at ${singleLine(flags.checkpoints).slice(0, 200)}. Fix: pass the file \`carapace audit checkpoint --export\` wrote.`,
    );
    return 2;
  }
  const { pinned, summary } = await loadPins(home, flags.checkpoints);
  const mentioned = await checkpointsMentioned(home);
  if (mentioned > summary.count)
    summary.problems.push({
      file: "audit-checkpoints.jsonl",
      line: summary.count + 1,
      detail: `the core log records ${mentioned} signed checkpoints, the file holds ${summary.count}: checkpoints were removed`,
    });
  const results = await verifyAudit(home, group, group === undefined ? { pinned } : { pinned: onlyLog(pinned, group) });
  const ok = results.every((r) => r.ok) && summary.problems.length === 0;
  if (flags.json) {
    io.out(JSON.stringify({ ok, logs: results, checkpoints: summary }));
    return ok ? 0 : 1;
  }
  if (results.length === 0) io.out(`No audit logs in ${auditDir(home)}.`);
  for (const result of results) {
    if (result.ok) io.out(`${result.log}: ok (${result.records} records)`);
    else {
      const count = result.problems.length;
      io.out(`${result.log}: ${count} problem${count === 1 ? "" : "s"} in ${result.records} records`);
      for (const p of result.problems) {
        const where = p.line === null ? p.file : `${p.file} line ${p.line}`;
        const seq = p.seq === null ? "" : ` (seq ${p.seq})`;
        io.out(`  ${singleLine(where)}${seq}: ${p.what} — ${singleLine(p.detail)}`);
      }
    }
    for (const n of result.notes) {
      const where = n.line === null ? n.file : `${n.file} line ${n.line}`;
      io.out(`  note: ${singleLine(where)}: ${singleLine(n.detail)}`);
    }
  }
  if (summary.problems.length === 0) {
    if (summary.count > 0) io.out(`checkpoints: ok (${summary.count} signed)`);
    else if (summary.note) io.out(`checkpoints: ${summary.note}`);
  } else {
    io.out(`checkpoints: ${summary.problems.length} problem${summary.problems.length === 1 ? "" : "s"}`);
    for (const p of summary.problems) io.out(`  ${singleLine(p.file)} line ${p.line}: ${singleLine(p.detail)}`);
  }
  if (!ok) {
    io.err(
      "[AUDIT] Error: the audit chain is broken (lines above). Fix: keep the files as evidence; move the damaged group's files out of the audit directory to start a new chain.",
    );
  }
  return ok ? 0 : 1;
}

function onlyLog<T>(map: Map<string, T>, log: string): Map<string, T> {
  const value = map.get(log);
  return value === undefined ? new Map() : new Map([[log, value]]);
}

/** `carapace audit checkpoint`: sign now (running core), or `--export` every checkpoint with the public key. */
export async function runAuditCheckpoint(
  home: string,
  flags: { export: boolean; output?: string; json?: boolean },
  io: Output = consoleOutput,
): Promise<number> {
  if (flags.export) {
    const lines = await exportCheckpoints(home);
    if (lines.length === 0) {
      io.err(
        "[AUDIT] Error: this home has no checkpoint key yet. Fix: start the core once (`carapace start`); it creates the key and signs the heads.",
      );
      return 1;
    }
    const text = `${lines.join("\n")}\n`;
    if (flags.output === undefined) process.stdout.write(text);
    else {
      writeFileSync(flags.output, text, { mode: 0o600 });
      if (flags.json) io.out(JSON.stringify({ file: flags.output, checkpoints: lines.length - 1 }));
      else io.out(`Wrote ${lines.length - 1} signed checkpoints and the public key to ${flags.output}.`);
    }
    return 0;
  }
  const reply = control(home, "audit.checkpoint") as { written: boolean; n: number };
  if (flags.json) io.out(JSON.stringify(reply));
  else io.out(reply.written ? `Signed checkpoint #${reply.n}.` : `Nothing changed since checkpoint #${reply.n}.`);
  return 0;
}

export interface TailOptions {
  group?: string;
  correlation?: string;
  lines: number;
  json: boolean;
}

/** Exit code: 0 printed (possibly nothing), 1 no log for that group, 2 usage error. */
export async function runAuditTail(home: string, options: TailOptions, io: Output = consoleOutput): Promise<number> {
  if (options.group !== undefined && !isLogName(options.group)) return invalidGroup(options.group, io);
  if (!Number.isInteger(options.lines) || options.lines < 1 || options.lines > 1000) {
    io.err("[AUDIT] Error: -n must be a whole number from 1 to 1000. Fix: for example `carapace audit tail -n 50`.");
    return 2;
  }
  const dir = auditDir(home);
  const existing = listLogs(dir);
  if (options.group !== undefined && !existing.includes(options.group)) {
    const known = existing.length === 0 ? "there are no audit logs yet" : `the logs are ${existing.join(", ")}`;
    io.err(
      `[AUDIT] Error: there is no audit log for group "${options.group}" (${known}). Fix: pick one of those, or leave out --group.`,
    );
    return 1;
  }
  const logs = options.group === undefined ? existing : [options.group];
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
  args: {
    group: groupArg,
    json: { type: "boolean", description: "Print the results as JSON", default: false },
    checkpoints: {
      type: "string",
      description: "Also check against an exported checkpoints file kept elsewhere (audit checkpoint --export)",
    },
  },
  async run({ args }) {
    process.exitCode = await runAuditVerify(carapaceHome(), args.group, consoleOutput, {
      json: args.json,
      ...(args.checkpoints === undefined ? {} : { checkpoints: args.checkpoints }),
    });
  },
});

export const auditCheckpointCommand = defineCommand({
  meta: {
    name: "checkpoint",
    description:
      "Sign the audit chain heads now (the core also does it every minute and at shutdown), or --export the signed checkpoints with their public key to keep them elsewhere. Exit codes: 0 done, 1 failed, 3 the core is not running (signing only).",
  },
  args: {
    export: { type: "boolean", description: "Print every signed checkpoint and the public key", default: false },
    output: { type: "string", alias: "o", description: "With --export: write to this file instead of stdout" },
    json: { type: "boolean", description: "Print JSON (--export always prints JSON lines)", default: false },
  },
  async run({ args }) {
    process.exitCode = await runAuditCheckpoint(carapaceHome(), {
      export: args.export,
      json: args.json,
      ...(args.output === undefined ? {} : { output: args.output }),
    });
  },
});

export const auditTailCommand = defineCommand({
  meta: {
    name: "tail",
    description:
      "Print the most recent audit records. Exit codes: 0 printed, 1 no audit log for that group, 2 usage error.",
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
  subCommands: { verify: auditVerifyCommand, tail: auditTailCommand, checkpoint: auditCheckpointCommand },
});
