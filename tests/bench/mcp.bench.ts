/**
 * The MCP bridge's overhead: a tool call answered by the test MCP server (over stdio, through the
 * bridge's sandboxed process) against the same pipeline answering an intrinsic tool in the core, and
 * against a plain plugin process (the extra hop the bridge adds is the MCP client and server).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { ensureHome } from "../../src/config/home.ts";
import type { McpServerConfig } from "../../src/config/mcp.ts";
import { CoreServer } from "../../src/core/server.ts";
import { DEFAULT_LIMITS } from "../../src/protocol/limits.ts";
import { FIXTURE_SERVER } from "../fixtures/mcp-server/setup.ts";
import { installPlugin } from "../fixtures/plugins/install.ts";
import { ROOT } from "../harness/binaries.ts";
import { roundTrips } from "./core.bench.ts";
import type { BenchFigure } from "./figure.ts";

export async function runMcpBench(opts: { quick: boolean }): Promise<BenchFigure[]> {
  const figures: BenchFigure[] = [];
  const ms = opts.quick ? 1000 : 3000;
  const home = mkdtempSync("/tmp/cpmb-");
  ensureHome(home);
  installPlugin(home, "faulty");
  const fx: McpServerConfig = { command: process.execPath, args: [FIXTURE_SERVER, "--stdio"], paths: [ROOT] };
  const server = new CoreServer({
    home,
    limits: () => ({ ...DEFAULT_LIMITS, rateLimitPerMinute: 1e9, rateLimitBurst: 1e9, maxInflightPerSession: 1000 }),
    helloEnabled: true,
    plugins: { builtins: false },
    mcpServers: { fx },
  });
  try {
    await server.start();
    const session = server.openSession("bench", "bench");
    const endpoint = `ipc://${session.socketPath}`;
    const body = (topic: string, args: unknown) => (c: string) =>
      JSON.stringify({ topic, correlation: c, arguments: args });
    for (const concurrency of [1, 16]) {
      const intrinsic = await roundTrips(endpoint, concurrency, ms, body("tool.invoke.get_session_info", {}));
      const plugin = await roundTrips(endpoint, concurrency, ms, body("tool.invoke.faulty.ok", {}));
      const mcp = await roundTrips(endpoint, concurrency, ms, body("tool.invoke.fx.read_note", { title: "bench" }));
      figures.push({
        name: `intrinsic tool call (${concurrency} in flight)`,
        value: Math.round(intrinsic),
        unit: "rt/s",
      });
      figures.push({
        name: `MCP tool call, stdio server via the bridge (${concurrency} in flight)`,
        value: Math.round(mcp),
        unit: "rt/s",
      });
      figures.push({
        name: `MCP tool call / intrinsic call (${concurrency} in flight)`,
        value: Number((mcp / intrinsic).toFixed(3)),
        unit: "ratio",
        baseline: { name: "intrinsic", value: Math.round(intrinsic), unit: "rt/s" },
      });
      figures.push({
        name: `MCP tool call / plain plugin call (${concurrency} in flight)`,
        value: Number((mcp / plugin).toFixed(3)),
        unit: "ratio",
        baseline: { name: "plugin process", value: Math.round(plugin), unit: "rt/s" },
      });
      if (concurrency === 1)
        figures.push({
          name: "MCP bridge overhead per call over an intrinsic call (1 in flight)",
          value: Number((1000 / mcp - 1000 / intrinsic).toFixed(3)),
          unit: "ms",
        });
    }
  } finally {
    await server.stop();
    rmSync(home, { recursive: true, force: true });
  }
  return figures;
}
