import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { installPlugin } from "../fixtures/plugins/install.ts";
import { type RunningCore, startCore, tempHome } from "../harness/core.ts";
import { rawRequest, wire } from "../harness/raw.ts";
import { expectServing, FrameDealer, type Json, ROOMY_LIMITS } from "./support.ts";

/**
 * Faults stay inside the plugin's process: each fault runs while another session calls an intrinsic
 * tool and another plugin; their answers stay correct, the faulty call gets PLUGIN_TIMEOUT or
 * PLUGIN_UNAVAILABLE, and the plugin comes back (or is marked failed after repeated crashes).
 */

type Session = { id: string; socket: string; group: string };

function call(socket: string, tool: string, args: Json = {}): Json | null {
  return rawRequest(socket, wire(`tool.invoke.${tool}`, args), 10_000);
}

/** The other session keeps being answered correctly by the core and by another plugin's process. */
function bystanderIsServed(other: Session): void {
  expectServing(other.socket);
  const reply = call(other.socket, "tool_error.run");
  expect(reply?.error).toMatchObject({ code: "HANDLER_ERROR", handler_code: "MY_CODE", message: "my message" });
}

async function instanceOf(s: Session, ms = 15_000): Promise<string> {
  const deadline = Date.now() + ms;
  for (;;) {
    const reply = call(s.socket, "faulty.ok");
    const result = reply?.result as Json | undefined;
    if (result?.ok === true) return String(result.instance);
    if (Date.now() > deadline) throw new Error(`faulty.ok never answered: ${JSON.stringify(reply)}`);
    await Bun.sleep(100);
  }
}

/** Sends the fault, checks the bystander while it runs, and returns the faulty call's error. */
async function duringFault(fault: Session, other: Session, tool: string): Promise<Json> {
  const dealer = new FrameDealer(fault.socket);
  try {
    dealer.send(wire(`tool.invoke.${tool}`, {}));
    for (let i = 0; i < 3; i++) {
      bystanderIsServed(other);
      await Bun.sleep(150);
    }
    const [reply] = await dealer.receiveMany(1, 20_000);
    bystanderIsServed(other);
    return (reply?.error ?? {}) as Json;
  } finally {
    dealer.close();
  }
}

async function pluginState(s: Session): Promise<Json | undefined> {
  const info = call(s.socket, "get_session_info")?.result as { plugins: Json[] };
  return info.plugins.find((p) => p.name === "faulty");
}

const CONFIG = `${ROOMY_LIMITS}handler_timeout_ms = 1500\nplugin_memory_mb = 160\n`;

describe("faults that the plugin survives: hang, busy loop, memory past its limit", () => {
  let core: RunningCore;
  let fault: Session;
  let other: Session;

  beforeAll(async () => {
    const home = tempHome();
    installPlugin(home, "faulty");
    installPlugin(home, "tool-error");
    core = await startCore({ home, config: CONFIG });
    fault = await core.openSession("faulty");
    other = await core.openSession("bystander");
  });
  afterAll(async () => {
    await core.stop();
  });

  test("a hanging call gets PLUGIN_TIMEOUT; the process still answers, so it is kept", async () => {
    const before = await instanceOf(fault);
    expect(await duringFault(fault, other, "faulty.hang")).toMatchObject({ code: "PLUGIN_TIMEOUT", stage: 6 });
    expect(await instanceOf(fault)).toBe(before);
  });

  test("a synchronous busy loop gets PLUGIN_TIMEOUT; the stuck process is killed and restarted", async () => {
    const before = await instanceOf(fault);
    expect(await duringFault(fault, other, "faulty.busy")).toMatchObject({ code: "PLUGIN_TIMEOUT", stage: 6 });
    const after = await instanceOf(fault);
    expect(after).not.toBe(before);
    expect(core.messages()).toContain('the process of plugin "faulty" ended (did not answer within its time limit');
  });

  test("memory past plugin_memory_mb ends the process (PLUGIN_UNAVAILABLE), which is restarted", async () => {
    const before = await instanceOf(fault);
    const error = await duringFault(fault, other, "faulty.grow");
    expect(["PLUGIN_UNAVAILABLE", "PLUGIN_TIMEOUT"]).toContain(String(error.code));
    const after = await instanceOf(fault);
    expect(after).not.toBe(before);
    expect(core.messages()).toMatch(/the process of plugin "faulty" ended \(used more memory than its limit/);
    expect((await pluginState(fault))?.status).toBe("healthy");
  });
});

describe("faults that end the process: crash, process.exit, an uncaught error; then marked failed", () => {
  let core: RunningCore;
  let fault: Session;
  let other: Session;

  beforeAll(async () => {
    const home = tempHome();
    installPlugin(home, "faulty");
    installPlugin(home, "tool-error");
    core = await startCore({ home, config: CONFIG });
    fault = await core.openSession("faulty");
    other = await core.openSession("bystander");
  });
  afterAll(async () => {
    await core.stop();
  });

  test("abort, exit and an uncaught error each answer PLUGIN_UNAVAILABLE and restart the process", async () => {
    let previous = await instanceOf(fault);
    for (const tool of ["faulty.crash", "faulty.exit"]) {
      expect(await duringFault(fault, other, tool)).toMatchObject({ code: "PLUGIN_UNAVAILABLE", stage: 6 });
      const next = await instanceOf(fault);
      expect(next).not.toBe(previous);
      previous = next;
    }
    // The third crash within a minute: no more restarts, the plugin is failed and says why.
    expect(await duringFault(fault, other, "faulty.uncaught")).toMatchObject({ code: "PLUGIN_UNAVAILABLE" });
    for (let i = 0; i < 300 && (await pluginState(fault))?.status !== "failed"; i++) await Bun.sleep(100);
    expect(await pluginState(fault)).toMatchObject({ status: "failed", category: "crashed" });
    expect(call(fault.socket, "faulty.ok")?.error).toMatchObject({ code: "PLUGIN_UNAVAILABLE" });
    bystanderIsServed(other);
  });

  test("the failed plugin is shown by `carapace plugin list` and `carapace doctor`", async () => {
    const list = await core.carapace(["plugin", "list", "--json"]);
    expect(list.code).toBe(0);
    const row = (JSON.parse(list.stdout) as { plugins: Json[] }).plugins.find((p) => p.name === "faulty");
    expect(row).toMatchObject({ live: "failed", category: "crashed" });
    const doctor = await core.carapace(["doctor", "--live"]);
    expect(doctor.stdout).toMatch(/plugin faulty \(running core\): failed: crashed: the plugin process ended 3 times/);
  });
});
