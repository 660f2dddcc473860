import { afterAll, describe, expect, test } from "bun:test";
import { type RunningCore, startCore } from "../../harness/core.ts";

const HELLO = ["hello.echo", "hello.greet", "hello.time"];

async function toolNames(core: RunningCore): Promise<string[]> {
  const session = await core.openSession();
  const r = await core.ipc(session.socket, "list_tools");
  expect(r.code).toBe(0);
  return ((r.json as { tools: { name: string }[] }).tools ?? []).map((t) => t.name);
}

/** The hello tools through the compiled core: on by default, gone when `[hello] enabled = false`. */
describe("hello tools follow [hello] enabled", () => {
  const cores: RunningCore[] = [];
  afterAll(async () => {
    for (const c of cores) await c.stop();
  });

  test("on by default: list_tools shows them and hello.echo answers", async () => {
    const core = await startCore();
    cores.push(core);
    const names = await toolNames(core);
    for (const t of HELLO) expect(names).toContain(t);
    const session = await core.openSession();
    expect((await core.ipc(session.socket, "hello.echo", { message: "hi" })).json).toEqual({ message: "hi" });
  });

  test("enabled = false: list_tools no longer shows them and calling one is an unknown tool", async () => {
    const core = await startCore({ config: "[hello]\nenabled = false\n" });
    cores.push(core);
    const names = await toolNames(core);
    for (const t of HELLO) expect(names).not.toContain(t);
    expect(names).toContain("get_diagnostics");
    const session = await core.openSession();
    const r = await core.ipc(session.socket, "hello.echo", { message: "hi" });
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({ code: "UNKNOWN_TOOL" });
  });
});
