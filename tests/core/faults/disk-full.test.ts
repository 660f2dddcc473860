import { Database } from "bun:sqlite";
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { startCore, tempHome, waitForAudit } from "../../harness/core.ts";
import { rawRequest, wire } from "../../harness/raw.ts";
import { runCommand } from "../../harness/run.ts";

/**
 * The audit directory on a 512 KiB tmpfs that the test fills up while a session stores memories:
 * no memory is stored without its record of intent, a refused call that may have run is never
 * retriable, and once space is back the group works again without a restart.
 */

const isRoot = process.getuid?.() === 0;
const GROUP = "full";
const CONFIG = `[security]
rate_limit_per_minute = 600000
rate_limit_burst = 10000
[memory]
max_stores_per_session = 1000
`;

const mounts: string[] = [];
afterAll(async () => {
  for (const dir of mounts) await runCommand(["umount", "-l", dir], { env: { PATH: "/usr/bin:/bin:/usr/sbin:/sbin" } });
});

function storedContents(home: string): Set<string> {
  const db = join(home, "data", "memory", `${GROUP}.sqlite`);
  if (!existsSync(db)) return new Set();
  const conn = new Database(db, { readonly: true });
  try {
    return new Set(
      conn
        .query<{ content: string }, []>("SELECT content FROM entries")
        .all()
        .map((r) => r.content),
    );
  } finally {
    conn.close();
  }
}

describe.skipIf(!isRoot)("a full audit disk during calls (tmpfs, as root)", () => {
  test("no side effect without a record, never retriable after it may have run, recovery once space is back", async () => {
    const home = tempHome();
    const auditDir = join(home, "data", "audit");
    mkdirSync(auditDir, { recursive: true, mode: 0o700 });
    const mount = await runCommand(["mount", "-t", "tmpfs", "-o", "size=512k,mode=0700", "tmpfs", auditDir], {
      env: { PATH: "/usr/bin:/bin:/usr/sbin:/sbin" },
    });
    expect(mount.code).toBe(0);
    mounts.push(auditDir);
    const core = await startCore({ home, config: CONFIG });
    try {
      const session = await core.openSession(GROUP);
      const store = (i: number) => {
        const correlation = crypto.randomUUID();
        const reply = rawRequest(
          session.socket,
          wire("tool.invoke.memory_store", { type: "fact", content: `note ${i}` }, correlation),
        );
        return { i, correlation, reply };
      };
      for (let i = 0; i < 3; i++) expect(store(i).reply?.kind).toBe("result");

      // Fill the file system to the last byte.
      await runCommand(["dd", "if=/dev/zero", `of=${join(auditDir, "filler")}`, "bs=4k"], {
        env: { PATH: "/usr/bin:/bin:/usr/sbin:/sbin" },
      });
      const calls = Array.from({ length: 40 }, (_, k) => store(100 + k));
      const refused = calls.filter((c) => c.reply?.kind === "error");
      expect(refused.length).toBeGreaterThan(30);

      const stored = storedContents(home);
      const records = core.audit(GROUP);
      const intents = new Set(records.filter((r) => r.kind === "intent").map((r) => r.correlation));
      for (const c of calls) {
        const ran = stored.has(`note ${c.i}`);
        // A memory stored for this call: its record of intent is in the log.
        if (ran) expect(intents.has(c.correlation)).toBe(true);
        const error = c.reply?.error as { retriable?: boolean; code?: string } | undefined;
        // Retriable means "it did not run": no memory was stored for it.
        if (error?.retriable === true) expect(ran).toBe(false);
        if (c.reply?.kind === "result") expect(ran).toBe(true);
      }

      rmSync(join(auditDir, "filler"));
      let recovered: Record<string, unknown> | null = null;
      for (let k = 0; k < 100 && recovered?.kind !== "result"; k++) {
        recovered = store(1000 + k).reply;
        if (recovered?.kind !== "result") await Bun.sleep(100);
      }
      expect(recovered?.kind).toBe("result");
      expect(core.output()).toContain("[AUDIT] Error:");
      for (let k = 0; k < 50 && !core.output().includes("is writable again"); k++) await Bun.sleep(100);
      expect(core.output()).toContain("is writable again");
      await waitForAudit(
        core,
        "_core",
        (r) => (r.detail as { event?: string } | undefined)?.event === "audit recovered",
        5000,
      );
      await core.stop();
      const verify = await core.carapace(["audit", "verify"]);
      expect(verify.stdout).toContain(`${GROUP}: ok`);
      expect(verify.code).toBe(0);
    } finally {
      await core.stop();
    }
  }, 60_000);
});
