import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { type Output, runAuditTail, runAuditVerify } from "../../src/cli/audit.ts";
import { AuditLog } from "../../src/core/response/audit-log.ts";
import { entry, readLinesOf, tempHome, writeLinesTo } from "../core/response/audit-helpers.ts";

let t: ReturnType<typeof tempHome>;
beforeEach(async () => {
  t = tempHome();
  const log = new AuditLog(t.home, {
    clock: (() => {
      let n = 0;
      return () => new Date(Date.UTC(2026, 0, 1, 0, 0, n++));
    })(),
  });
  for (let i = 0; i < 6; i++) await log.append(entry(i, { group: i % 2 ? "work" : "home" }));
  await log.append(
    entry(7, {
      group: "work",
      kind: "error",
      outcome: "error",
      code: "PLUGIN_ERROR",
      topic: "tool.invoke.x\x1b[2J\x1b]0;owned\x07",
      detail: { msg: "bad\x1b[31m thing\nsecond line" },
    }),
  );
  await log.close();
});
afterEach(() => t.cleanup());

function capture(): Output & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    stdout,
    stderr,
    out: (l) => stdout.push(l),
    err: (l) => stderr.push(l),
  };
}

describe("audit verify", () => {
  test("exit 0 and one line per group when every chain is intact", async () => {
    const io = capture();
    expect(await runAuditVerify(t.home, undefined, io)).toBe(0);
    expect(io.stdout).toEqual([
      "home: ok (3 records)",
      "work: ok (4 records)",
      "checkpoints: no checkpoint key in this home: the chains are checked against their heads only",
    ]);
  });

  test("exit 1 naming file and line when a line was deleted", async () => {
    const file = join(t.dir, "work.jsonl");
    writeLinesTo(
      file,
      readLinesOf(file).filter((_, i) => i !== 1),
    );
    const io = capture();
    expect(await runAuditVerify(t.home, "work", io)).toBe(1);
    expect(io.stdout).toEqual([
      "work: 1 problem in 3 records",
      "  work.jsonl line 2 (seq 3): deleted — record 2 is missing before this line",
      "checkpoints: no checkpoint key in this home: the chains are checked against their heads only",
    ]);
    expect(io.stderr[0]).toMatch(/^\[AUDIT\] Error: .*Fix:/);
  });

  test("exit 2 for an invalid group name", async () => {
    const io = capture();
    expect(await runAuditVerify(t.home, "../etc", io)).toBe(2);
    expect(io.stderr[0]).toMatch(/^\[AUDIT\] Error: .*not a valid group name/);
  });

  test("an empty home says so", async () => {
    const empty = tempHome();
    const io = capture();
    expect(await runAuditVerify(empty.home, undefined, io)).toBe(0);
    expect(io.stdout[0]).toStartWith("No audit logs in ");
    empty.cleanup();
  });
});

describe("audit tail", () => {
  test("merges groups by time and prints the last N, with escapes stripped", async () => {
    const io = capture();
    expect(await runAuditTail(t.home, { lines: 3, json: false }, io)).toBe(0);
    expect(io.stdout).toHaveLength(3);
    expect(io.stdout[0]).toStartWith("2026-01-01T00:00:04.000Z home #3 routed ok tool.invoke.hello.echo");
    const last = io.stdout[2] ?? "";
    expect(last).toContain("work #4 error error tool.invoke.x code=PLUGIN_ERROR corr=");
    expect(last).not.toContain("\x1b");
    expect(last).not.toContain("\n");
    expect(last).toContain("code=PLUGIN_ERROR");
  });

  test("--group and --correlation filter; --json prints parseable, escaped records", async () => {
    const io = capture();
    const correlation = entry(3).correlation ?? "";
    expect(await runAuditTail(t.home, { group: "work", correlation, lines: 20, json: true }, io)).toBe(0);
    expect(io.stdout).toHaveLength(1);
    const record = JSON.parse(io.stdout[0] ?? "");
    expect(record).toMatchObject({ log: "work", seq: 2, correlation });

    const all = capture();
    await runAuditTail(t.home, { group: "work", lines: 20, json: true }, all);
    expect(all.stdout).toHaveLength(4);
    expect(all.stdout.join("")).not.toContain("\x1b");
  });

  test("usage errors exit 2", async () => {
    const io = capture();
    expect(await runAuditTail(t.home, { lines: 0, json: false }, io)).toBe(2);
    expect(await runAuditTail(t.home, { group: "Work", lines: 5, json: false }, io)).toBe(2);
  });

  test("a group without an audit log is an error naming the logs there are, not an empty success", async () => {
    const io = capture();
    expect(await runAuditTail(t.home, { group: "nosuch", lines: 5, json: false }, io)).toBe(1);
    expect(io.stdout).toEqual([]);
    expect(io.stderr[0]).toBe(
      '[AUDIT] Error: there is no audit log for group "nosuch" (the logs are home, work). Fix: pick one of those, or leave out --group.',
    );
  });

  test("verify --json prints one document with every log's result", async () => {
    const io = capture();
    expect(await runAuditVerify(t.home, undefined, io, { json: true })).toBe(0);
    const report = JSON.parse(io.stdout.join("")) as { ok: boolean; logs: { log: string; ok: boolean }[] };
    expect(report.ok).toBe(true);
    expect(report.logs.map((r) => [r.log, r.ok])).toEqual([
      ["home", true],
      ["work", true],
    ]);
  });
});

describe("the citty command", () => {
  const run = (args: string[]) =>
    Bun.spawnSync(
      [
        "bun",
        "-e",
        'import { runMain } from "citty"; import { auditCommand } from "./src/cli/audit.ts"; await runMain(auditCommand, { rawArgs: process.argv.slice(1) });',
        ...args,
      ],
      {
        cwd: join(import.meta.dir, "..", ".."),
        env: { ...process.env, CARAPACE_HOME: t.home },
      },
    );

  test("verify exits 0 on a clean log and 1 on a damaged one; tail -n works", () => {
    const clean = run(["verify"]);
    expect(clean.exitCode).toBe(0);
    expect(clean.stdout.toString()).toContain("work: ok (4 records)");

    const tail = run(["tail", "--group", "home", "-n", "2"]);
    expect(tail.exitCode).toBe(0);
    expect(tail.stdout.toString().trim().split("\n")).toHaveLength(2);

    const file = join(t.dir, "home.jsonl");
    const lines = readLinesOf(file);
    writeLinesTo(file, [lines[1] ?? "", lines[0] ?? "", ...lines.slice(2)]);
    const damaged = run(["verify", "--group", "home"]);
    expect(damaged.exitCode).toBe(1);
    expect(damaged.stdout.toString()).toContain("home.jsonl line 1 (seq 2): reordered");
  });
});
