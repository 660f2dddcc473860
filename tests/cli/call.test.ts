/** `carapace call` through the compiled binary against a running core. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { installPlugin } from "../fixtures/plugins/install.ts";
import { ensureBinaries } from "../harness/binaries.ts";
import { type RunningCore, startCore, tempHome } from "../harness/core.ts";

let core: RunningCore;
beforeAll(async () => {
  const home = tempHome();
  installPlugin(home, "high-risk");
  core = await startCore({ home });
}, 180_000);
afterAll(() => core.stop());

describe("carapace call", () => {
  test("a call waiting for a person says on stderr how to answer it; approving it lets it run", async () => {
    const proc = Bun.spawn([ensureBinaries().carapace, "call", "high_risk.run"], {
      env: core.env,
      stdout: "pipe",
      stderr: "pipe",
    });
    let stderr = "";
    const decoder = new TextDecoder();
    let id: string | undefined;
    for await (const chunk of proc.stderr as ReadableStream<Uint8Array>) {
      stderr += decoder.decode(chunk, { stream: true });
      id = /`carapace approve (\S+)`/.exec(stderr)?.[1];
      if (id !== undefined) break;
    }
    expect(stderr).toMatch(
      /^\[CALL\] high_risk\.run is high risk and waits for a person: answer with `carapace approve \S+` or `carapace deny \S+` \(denied after \d+ s\)\.$/m,
    );
    const approve = await core.carapace(["approve", id as string, "--json"]);
    expect(approve.code).toBe(0);
    expect(JSON.parse(approve.stdout)).toEqual({
      id,
      decision: "approved",
      request_hash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(await proc.exited).toBe(0);
    expect(JSON.parse(await new Response(proc.stdout).text())).toMatchObject({ done: true });
  }, 60_000);

  test("--json prints the whole reply, an error reply included", async () => {
    const ok = await core.carapace(["call", "get_session_info", "--json"]);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ kind: "result" });
    const bad = await core.carapace(["call", "no_such.tool", "--json"]);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({ kind: "error" });
  });
});
