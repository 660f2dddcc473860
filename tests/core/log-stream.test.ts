import { afterAll, describe, expect, test } from "bun:test";
import { installPlugin } from "../fixtures/plugins/install.ts";
import { type RunningCore, startCore, tempHome } from "../harness/core.ts";

type Line = { level: string; time: string; msg: string; component?: string };

function lines(core: RunningCore): Line[] {
  const out = core.output();
  // Only whole lines: the one being written may have arrived in part.
  return out
    .slice(0, out.lastIndexOf("\n") + 1)
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => {
      try {
        return JSON.parse(l) as Line;
      } catch {
        throw new Error(`a log line that is not JSON: ${JSON.stringify(l)}`);
      }
    });
}

async function until(core: RunningCore, pred: (l: Line) => boolean): Promise<Line> {
  for (let i = 0; i < 800; i++) {
    const hit = lines(core).find(pred);
    if (hit) return hit;
    await Bun.sleep(25);
  }
  throw new Error(`no such log line in:\n${core.output()}`);
}

async function coreWithNoisyPlugin(config: string, args: string[] = []): Promise<RunningCore> {
  const home = tempHome();
  installPlugin(home, "noisy-log");
  const core = await startCore({ home, config, args });
  const session = await core.openSession();
  expect((await core.ipc(session.socket, "noisy_log.run")).code).toBe(0);
  return core;
}

/** The compiled core's stderr is one stream: every source, one format, level honoured, defused. */
describe("one log stream for the core, its plugins and --debug traces", () => {
  const cores: RunningCore[] = [];
  afterAll(async () => {
    for (const c of cores) await c.stop();
  });

  test("not a terminal: JSON lines only; a plugin's hostile line is sanitized and stripped; traces with --debug", async () => {
    const core = await coreWithNoisyPlugin("", ["--debug"]);
    cores.push(core);
    const plugin = await until(core, (l) => l.msg.includes("NOISY-MARK"));
    expect(plugin.component).toBe("plugin noisy-log");
    expect(plugin.msg).not.toContain("\u001b");
    expect(plugin.msg).not.toContain("\u0007");
    expect(plugin.msg).not.toContain("sk-ant-api03");
    expect(plugin.msg).toContain("[REDACTED");
    const trace = await until(core, (l) => l.component === "trace");
    expect(trace.level).toBe("debug");
    expect(trace.msg).toContain("noisy_log.run");
    const own = await until(core, (l) => l.msg.startsWith("Carapace core running"));
    expect(own.level).toBe("info");
    for (const l of lines(core)) expect(Number.isNaN(Date.parse(l.time))).toBe(false);
  });

  test("the configured level is honoured for every source: warn drops info lines and traces", async () => {
    const core = await coreWithNoisyPlugin('[logging]\nlevel = "warn"\n');
    cores.push(core);
    await Bun.sleep(500);
    const all = lines(core);
    expect(all.filter((l) => l.level === "info" || l.level === "debug")).toEqual([]);
    expect(core.output()).not.toContain("NOISY-MARK");
    expect(core.output()).not.toContain("Carapace core running");
  });
});
