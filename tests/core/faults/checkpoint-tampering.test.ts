import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type AuditRecord, GENESIS_HASH, recordHash } from "../../../src/core/response/audit-record.ts";
import { CARAPACE_BIN } from "../../harness/binaries.ts";
import { startCore, tempHome } from "../../harness/core.ts";
import { rawRequest, wire } from "../../harness/raw.ts";
import { runCommand } from "../../harness/run.ts";

/**
 * An attacker with the user's uid but without the checkpoint key rewrites a group's log and recomputes
 * everything the plain hash chain checks (hashes, links, head): `audit verify` still catches each
 * pattern, through the signed checkpoints and the core log.
 */

const GROUP = "ledger";
const homes: string[] = [];
let original: string;
let exported: string;

async function verify(home: string, extra: string[] = []): Promise<{ code: number; out: string }> {
  const r = await runCommand([CARAPACE_BIN, "audit", "verify", ...extra], {
    env: { PATH: "/usr/bin:/bin", HOME: home, CARAPACE_HOME: home, NO_COLOR: "1" },
  });
  return { code: r.code, out: r.stdout + r.stderr };
}

function copyHome(): string {
  const home = tempHome();
  homes.push(home);
  cpSync(original, home, { recursive: true });
  return home;
}

const logFile = (home: string) => join(home, "data/audit", `${GROUP}.jsonl`);

function records(home: string): AuditRecord[] {
  return readFileSync(logFile(home), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as AuditRecord);
}

/** Rewrites the log from `list`: fresh links and hashes from genesis, and a matching head. */
function rewrite(home: string, list: AuditRecord[]): void {
  let prev = GENESIS_HASH;
  const out = list.map((r) => {
    const next = { ...r, prev };
    next.hash = recordHash(next);
    prev = next.hash;
    return next;
  });
  writeFileSync(logFile(home), out.map((r) => `${JSON.stringify(r)}\n`).join(""));
  const last = out[out.length - 1];
  writeFileSync(
    join(home, "data/audit", `${GROUP}.head`),
    `${JSON.stringify({ seq: last?.seq ?? 0, hash: last?.hash ?? GENESIS_HASH, file: `${GROUP}.jsonl` })}\n`,
  );
}

beforeAll(async () => {
  const home = tempHome();
  for (let run = 0; run < 2; run++) {
    const core = await startCore({ home });
    const session = await core.openSession(GROUP);
    for (let i = 0; i < 4; i++)
      rawRequest(session.socket, wire("tool.invoke.hello.echo", { message: `run ${run} call ${i}` }));
    const signed = await core.carapace(["audit", "checkpoint"]);
    expect(signed.code).toBe(0);
    expect(signed.stdout).toMatch(/Signed checkpoint #\d+/);
    rawRequest(session.socket, wire("tool.invoke.hello.echo", { message: `run ${run} last` }));
    await core.stop();
  }
  original = home;
  exported = join(home, "exported-checkpoints.jsonl");
  const r = await runCommand([CARAPACE_BIN, "audit", "checkpoint", "--export", "-o", exported], {
    env: { PATH: "/usr/bin:/bin", HOME: home, CARAPACE_HOME: home, NO_COLOR: "1" },
  });
  expect(r.code).toBe(0);
}, 60_000);

afterAll(() => {
  for (const h of homes) rmSync(h, { recursive: true, force: true });
});

describe("signed checkpoints catch a rewrite by someone without the key", () => {
  test("the untouched home verifies, checkpoints included", async () => {
    const r = await verify(original);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/checkpoints: ok \(\d+ signed\)/);
    expect(r.out).toContain(`${GROUP}: ok`);
  });

  test("edit + recompute (hashes, links and head): the signed hash no longer matches", async () => {
    const home = copyHome();
    const list = records(home);
    const victim = list[2] as AuditRecord;
    victim.outcome = victim.outcome === "ok" ? "rejected" : "ok";
    rewrite(home, list);
    const r = await verify(home);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/edited — record \d+ differs from signed checkpoint #\d+/);
  });

  test("delete + renumber: the record at the signed seq is another one", async () => {
    const home = copyHome();
    const list = records(home).filter((_, i) => i !== 2);
    list.forEach((r, i) => {
      r.seq = i + 1;
    });
    rewrite(home, list);
    const r = await verify(home);
    expect(r.code).toBe(1);
    // The signed seq now holds another record, or lies past the shortened end.
    expect(r.out).toMatch(/differs from signed checkpoint|truncated — records up to \d+ were signed/);
  });

  test("truncate + re-head: records the checkpoint signed are missing", async () => {
    const home = copyHome();
    rewrite(home, records(home).slice(0, 3));
    const r = await verify(home);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/truncated — records up to \d+ were signed in signed checkpoint #\d+ but end at 3/);
  });

  test("the log deleted together with its head: the checkpoint still names it", async () => {
    const home = copyHome();
    rmSync(logFile(home));
    rmSync(join(home, "data/audit", `${GROUP}.head`));
    const r = await verify(home);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(
      new RegExp(`${GROUP}: 1 problem.*\\n.*deleted — the log is gone, but signed checkpoint #\\d+ names`),
    );
  });

  test("the checkpoints file deleted: the core log says how many there were", async () => {
    const home = copyHome();
    rmSync(join(home, "data/audit-checkpoints.jsonl"));
    const r = await verify(home);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/the core log records \d+ signed checkpoints, the file holds 0: checkpoints were removed/);
  });

  test("a checkpoint forged with another key is refused", async () => {
    const home = copyHome();
    const file = join(home, "data/audit-checkpoints.jsonl");
    const lines = readFileSync(file, "utf8").split("\n").filter(Boolean);
    const last = JSON.parse(lines[lines.length - 1] ?? "{}") as { heads: Record<string, { seq: number }> };
    const head = last.heads[GROUP];
    if (head) head.seq = 1;
    writeFileSync(file, `${[...lines.slice(0, -1), JSON.stringify(last)].join("\n")}\n`);
    const r = await verify(home);
    expect(r.code).toBe(1);
    expect(r.out).toContain("the signature does not match (forged or edited)");
  });

  test("everything local removed (logs, heads, checkpoints, core log): the exported copy still catches it", async () => {
    const home = copyHome();
    rmSync(join(home, "data/audit"), { recursive: true, force: true });
    rmSync(join(home, "data/audit-checkpoints.jsonl"));
    const r = await verify(home, ["--checkpoints", exported]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(new RegExp(`${GROUP}: 1 problem`));
    expect(r.out).toContain("the exported copy holds checkpoints up to");
  });
});
