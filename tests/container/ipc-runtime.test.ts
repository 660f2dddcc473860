/**
 * Inside the real agent image, locked down as a session runs it: `ipc` runs its own code and nothing else,
 * whatever the environment, the working directory and argv say. A planted script would append to
 * /workspace/pwned; each case asserts ipc refused or ran as itself, and the host finds no marker.
 * Control cases run the same tricks on the bare compiled client (bypassing the image's front script) and
 * must leave their own marker, so the test fails if the tricks stop being real.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ContainerLifecycle } from "../../src/container/lifecycle.ts";
import { agentRunSpec } from "../../src/container/lockdown.ts";
import { testAgentImage } from "./agent-image.ts";
import { realPodman, reportSkip, uniqueName } from "./podman-env.ts";
import { sessionFixture } from "./session-fixture.ts";

const image = await testAgentImage();
reportSkip("ipc runtime lockdown in the agent image", image.skipReason);

// Only sh builtins and ipc: the image may carry no other tools.
const PROBE = String.raw`
cd /workspace
printf '%s\n' 'require("node:fs").appendFileSync("/workspace/pwned", process.argv.join(" ") + "\n");' > evil.js
printf '%s\n' 'require("node:fs").appendFileSync("/workspace/control", "bun ran it\n");' > control.js
report() { printf 'CASE %s %s\n%s\nEND\n' "$1" "$2" "$3"; }
out=$(BUN_BE_BUN=1 ipc /workspace/evil.js 2>&1); report be-bun-script $? "$out"
out=$(BUN_BE_BUN=1 ipc -e 'require("node:fs").writeFileSync("/workspace/pwned", "e")' 2>&1); report be-bun-eval $? "$out"
out=$(BUN_OPTIONS="--preload /workspace/evil.js" ipc --version 2>&1); report options-preload $? "$out"
out=$(BUN_OPTIONS="-r /workspace/evil.js" ipc hello '{}' 2>&1); report options-require $? "$out"
out=$(NODE_OPTIONS="--require /workspace/evil.js" ipc --version 2>&1); report node-options $? "$out"
printf 'preload = ["/workspace/evil.js"]\n' > /workspace/bunfig.toml
printf 'preload = ["/workspace/evil.js"]\n' > /workspace/.bunfig.toml
out=$(ipc --version 2>&1); report bunfig-cwd $? "$out"
out=$(XDG_CONFIG_HOME=/workspace ipc --version 2>&1); report bunfig-global $? "$out"
printf 'CARAPACE_SOCKET=/workspace/planted.sock\nBUN_OPTIONS=--preload /workspace/evil.js\n' > /workspace/.env
out=$(unset CARAPACE_SOCKET; ipc hello '{}' 2>&1); report dotenv $? "$out"
printf 'not a library\n' > /workspace/evil.so
out=$(CARAPACE_LIBZMQ=/workspace/evil.so ipc hello '{}' 2>&1); report planted-libzmq $? "$out"
out=$(ipc /workspace/evil.js 2>&1); report argv-script $? "$out"
out=$(ipc run /workspace/evil.js 2>&1); report argv-run $? "$out"
out=$(ipc --preload /workspace/evil.js hello 2>&1); report argv-preload $? "$out"
out=$(ipc -e 'require("node:fs").writeFileSync("/workspace/pwned", "e")' 2>&1); report argv-eval $? "$out"
out=$(ipc --bun /workspace/evil.js 2>&1); report argv-bun $? "$out"
out=$(ipc hello '{}' --preload /workspace/evil.js 2>&1); report argv-trailing $? "$out"
if [ -e /workspace/pwned ]; then echo "MARKER present"; else echo "MARKER absent"; fi
# Away from the planted bunfig.toml: as the bun CLI the bare client would read it and run evil.js.
cd /home/agent/.claude
out=$(BUN_BE_BUN=1 /usr/local/lib/carapace/ipc /workspace/control.js 2>&1); report control-be-bun $? "$out"
out=$(BUN_OPTIONS="--preload /workspace/control.js" /usr/local/lib/carapace/ipc --version 2>&1); report control-options $? "$out"
echo "PROBE-DONE"
`;

let out = "";
let home = "";
let workspace = "";

beforeAll(async () => {
  if (image.skipReason) return;
  home = mkdtempSync(join(tmpdir(), "ipc-runtime-"));
  const session = sessionFixture(home, "ipcrt");
  workspace = session.workspaceDir;
  const lifecycle = new ContainerLifecycle(realPodman());
  const spec = agentRunSpec({
    ...session,
    name: uniqueName("carapace-ipcrt"),
    image: image.tag,
    env: { CARAPACE_CLAUDE_BIN: "/bin/sh" },
    claudeArgs: ["-c", PROBE],
  });
  const c = lifecycle.spawn(spec, {
    stdin: "ANTHROPIC_API_KEY\ncarapace-ipc-runtime-token\n",
    onStdout: (s) => {
      out += s;
    },
  });
  await Promise.race([c.exited, Bun.sleep(90_000).then(() => c.stop())]);
}, 120_000);

afterAll(() => {
  if (home) rmSync(home, { recursive: true, force: true });
});

/** label → { code, output } from the probe's CASE blocks. */
function cases(): Map<string, { code: number; output: string }> {
  const found = new Map<string, { code: number; output: string }>();
  for (const m of out.matchAll(/^CASE (\S+) (\d+)\n([\s\S]*?)\nEND$/gm)) {
    found.set(m[1] as string, { code: Number(m[2]), output: m[3] as string });
  }
  return found;
}
const outcome = (label: string) => {
  const c = cases().get(label);
  if (!c) throw new Error(`case ${label} did not run; probe output:\n${out}`);
  return c;
};

describe.skipIf(image.skipReason !== null)("ipc in the agent image runs only its own code (podman)", () => {
  test("the probe ran every case", () => {
    expect(out).toContain("PROBE-DONE");
    expect(cases().size).toBe(17);
  });

  test("BUN_BE_BUN=1 does not turn ipc into the bun CLI: ipc answers as itself", () => {
    for (const label of ["be-bun-script", "be-bun-eval"]) {
      const r = outcome(label);
      expect([2, 3]).toContain(r.code);
      expect(r.output).toContain("[IPC] Error:");
    }
  });

  test("BUN_OPTIONS and NODE_OPTIONS preloads do not run; ipc runs as itself", () => {
    expect(outcome("options-preload")).toEqual({ code: 0, output: expect.stringMatching(/^ipc \d/) });
    expect(outcome("node-options")).toEqual({ code: 0, output: expect.stringMatching(/^ipc \d/) });
    const req = outcome("options-require");
    expect(req.code).toBe(3);
    expect(req.output).toContain("no session socket at /run/carapace/request.sock");
  });

  test("a bunfig.toml planted in the workspace or a config home is not read", () => {
    expect(outcome("bunfig-cwd")).toEqual({ code: 0, output: expect.stringMatching(/^ipc \d/) });
    expect(outcome("bunfig-global")).toEqual({ code: 0, output: expect.stringMatching(/^ipc \d/) });
  });

  test("a .env planted in the workspace is not loaded", () => {
    const r = outcome("dotenv");
    expect(r.code).toBe(2);
    expect(r.output).toContain("[IPC] Error: CARAPACE_SOCKET is not set.");
    expect(r.output).not.toContain("planted.sock");
  });

  test("a library planted in the workspace is refused, never loaded", () => {
    const r = outcome("planted-libzmq");
    expect(r.code).toBe(2);
    expect(r.output).toContain("[IPC] Error: CARAPACE_LIBZMQ is set and /workspace/evil.so is not a root-owned file");
  });

  test("argv tricks are ipc usage errors or ordinary tool calls, never Bun's", () => {
    for (const label of ["argv-script", "argv-run", "argv-preload", "argv-eval", "argv-bun", "argv-trailing"]) {
      const r = outcome(label);
      expect([2, 3]).toContain(r.code);
      expect(r.output).toContain("[IPC] Error:");
    }
  });

  test("no planted script ran: no marker inside the container or on the host", () => {
    expect(out).toContain("MARKER absent");
    const marker = join(workspace, "pwned");
    expect(existsSync(marker) ? readFileSync(marker, "utf8") : "no marker").toBe("no marker");
  });

  test("control: the same tricks on the bare client do run code, so the cases above test something real", () => {
    expect(readFileSync(join(workspace, "control"), "utf8")).toContain("bun ran it");
    expect(outcome("control-options").code).toBe(2);
  });
});

if (process.env.IPC_RUNTIME_DEBUG) afterAll(() => console.log(out));
