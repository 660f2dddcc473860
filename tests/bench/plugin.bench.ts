/**
 * The cost of the process boundary: a tool call answered by a plugin's own sandboxed process against
 * the same call answered by an intrinsic tool in the core, and a plugin process's cold start.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { ensureHome } from "../../src/config/home.ts";
import { CoreServer } from "../../src/core/server.ts";
import { DEFAULT_LIMITS } from "../../src/protocol/limits.ts";
import { installPlugin } from "../fixtures/plugins/install.ts";
import { roundTrips } from "./core.bench.ts";
import { type BenchFigure, median } from "./figure.ts";

export async function runPluginBench(opts: { quick: boolean }): Promise<BenchFigure[]> {
  const figures: BenchFigure[] = [];
  const ms = opts.quick ? 1000 : 3000;
  const home = mkdtempSync("/tmp/cppb-");
  ensureHome(home);
  installPlugin(home, "faulty");
  const server = new CoreServer({
    home,
    limits: () => ({ ...DEFAULT_LIMITS, rateLimitPerMinute: 1e9, rateLimitBurst: 1e9, maxInflightPerSession: 1000 }),
    helloEnabled: true,
    plugins: { builtins: false },
  });
  try {
    await server.start();
    const session = server.openSession("bench", "bench");
    const endpoint = `ipc://${session.socketPath}`;
    const body = (topic: string) => (c: string) => JSON.stringify({ topic, correlation: c, arguments: {} });
    for (const concurrency of [1, 16]) {
      const intrinsic = await roundTrips(endpoint, concurrency, ms, body("tool.invoke.get_session_info"));
      const plugin = await roundTrips(endpoint, concurrency, ms, body("tool.invoke.faulty.ok"));
      figures.push({
        name: `intrinsic tool call through the pipeline (${concurrency} in flight)`,
        value: Math.round(intrinsic),
        unit: "rt/s",
      });
      figures.push({
        name: `plugin tool call, own sandboxed process (${concurrency} in flight)`,
        value: Math.round(plugin),
        unit: "rt/s",
      });
      figures.push({
        name: `plugin process / intrinsic (${concurrency} in flight)`,
        value: Number((plugin / intrinsic).toFixed(3)),
        unit: "ratio",
        baseline: { name: "intrinsic", value: Math.round(intrinsic), unit: "rt/s" },
      });
    }
    // Cold start: a fresh sandboxed process, handler imported and initialized (what a reload does).
    const starts: number[] = [];
    for (let i = 0; i < (opts.quick ? 3 : 8); i++) {
      const t0 = performance.now();
      const outcome = await server.reloadPlugin("faulty");
      if (!outcome.ok) throw new Error(`reload failed: ${outcome.problem.message}`);
      starts.push(performance.now() - t0);
    }
    figures.push({
      name: "plugin cold start (sandbox, process, import, initialize), median",
      value: Number(median(starts).toFixed(1)),
      unit: "ms",
    });
  } finally {
    await server.stop();
    rmSync(home, { recursive: true, force: true });
  }
  return figures;
}
