import { describe, expect, test } from "bun:test";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { ZmqSocket } from "../../../src/transport/socket.ts";
import { startCore } from "../../harness/core.ts";
import { wire } from "../../harness/raw.ts";

/**
 * One session floods the core with requests (default limits) and never reads a reply. The audit and
 * the core's memory stay under stated bounds, and another session keeps getting its answers.
 */

/** The bounds this test holds the core to (a flood of tens of thousands of requests). */
const MAX_FLOOD_AUDIT_BYTES = 2 * 1024 * 1024;
const MAX_CORE_RSS_BYTES = 600 * 1024 * 1024;
const FLOOD_REQUESTS = 40_000;

function rssBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((l) => l.startsWith("VmRSS:"));
  return Number(line?.match(/(\d+)/)?.[1] ?? 0) * 1024;
}

describe("a session flood", () => {
  test("audit bytes and core memory stay bounded while another session keeps answering", async () => {
    // Default limits for the flooder; the other group may call as often as the test asks.
    const core = await startCore({
      config: "[groups.calm]\nrate_limit_per_minute = 600000\nrate_limit_burst = 10000\n",
    });
    try {
      const flood = await core.openSession("flood");
      const calm = await core.openSession("calm");
      const flooder = new ZmqSocket("DEALER", { sendHighWater: 100_000 });
      flooder.connect(`ipc://${flood.socket}`);
      let sent = 0;
      let peakRss = 0;
      const calmResults: number[] = [];
      while (sent < FLOOD_REQUESTS) {
        const outcome = flooder.trySend(["", wire("tool.invoke.hello.echo", { message: `flood ${sent}` })]);
        if (outcome === "sent") sent++;
        else await Bun.sleep(1);
        if (sent % 5_000 === 0 && outcome === "sent") {
          peakRss = Math.max(peakRss, rssBytes(core.proc.pid));
          calmResults.push((await core.ipc(calm.socket, "hello.echo", { message: `calm ${sent}` })).code);
        }
      }
      // Let the core work through what is queued, then hold it to the bounds.
      for (let i = 0; i < 5; i++) {
        calmResults.push((await core.ipc(calm.socket, "hello.echo", { message: `after ${i}` })).code);
        peakRss = Math.max(peakRss, rssBytes(core.proc.pid));
      }
      flooder.close();
      expect(calmResults.every((code) => code === 0)).toBe(true);
      expect(calmResults.length).toBeGreaterThanOrEqual(10);
      expect(peakRss).toBeLessThan(MAX_CORE_RSS_BYTES);

      await Bun.sleep(1_500);
      const auditBytes = statSync(join(core.home, "data/audit/flood.jsonl")).size;
      expect(auditBytes).toBeLessThan(MAX_FLOOD_AUDIT_BYTES);
      const records = core.audit("flood");
      const aggregated = records.filter((r) => (r.detail as { aggregated?: boolean } | undefined)?.aggregated);
      expect(aggregated.length).toBeGreaterThan(0);
      expect(aggregated.every((r) => r.code === "RATE_LIMITED" && r.stage === 4)).toBe(true);
      const accounted = aggregated.reduce((n, r) => n + ((r.detail as { repeated: number }).repeated ?? 0), 0);
      process.stderr.write(
        `[flood] sent ${sent}, audit ${auditBytes} bytes in ${records.length} records (${accounted} rejections counted in aggregates), peak core RSS ${Math.round(peakRss / 1048576)} MiB\n`,
      );
      expect(accounted).toBeGreaterThan(records.length);
    } finally {
      await core.stop();
    }
  }, 120_000);
});
