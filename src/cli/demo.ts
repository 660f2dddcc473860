import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { defineCommand } from "citty";
import { type ScriptedTurn, startScriptedModel } from "../agent/scripted-model.ts";
import { writeCredential } from "../config/credentials.ts";
import { ensureHome } from "../config/home.ts";
import { stripTerminalEscapes } from "../core/response/terminal-text.ts";
import { EXIT } from "./errors.ts";
import { withHome } from "./run-command.ts";

const bash = (command: string): ScriptedTurn => ({
  tool_use: { name: "Bash", input: { command, description: "call a Carapace tool" } },
});

/** The scripted conversation: hello, memory store and search, then an answer. Not a model. */
export const DEMO_TURNS: ScriptedTurn[] = [
  bash(`ipc hello.greet '{"name":"Carapace newcomer"}'`),
  bash(`ipc memory_store '{"type":"fact","content":"The demo ran on this machine","tags":["demo"]}'`),
  bash(`ipc memory_search '{"query":"demo"}'`),
  bash(`ipc hello.echo '{"message":"hi","group":"admin"}'`),
  {
    text:
      "[scripted model] Done: I greeted you through hello.greet, stored and found a memory, and my attempt " +
      "to claim another group was rejected by the core (VALIDATION_FAILED at stage 3).",
  },
];

async function run(bin: string, args: string[], env: Record<string, string>) {
  const p = Bun.spawn([bin, ...args], { env, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  return { stdout, stderr, code };
}

export const demoCommand = defineCommand({
  meta: {
    name: "demo",
    description:
      "First-run self-test without an API key: a real agent session in the real locked-down container,\n" +
      "driven by a built-in SCRIPTED model (not a real model), then the audit trail. Uses a temporary home.\n" +
      "Exit codes: 0 the session completed; 1 it failed (see the output).",
  },
  run: () =>
    withHome(async () => {
      const model = await startScriptedModel({ turns: DEMO_TURNS });
      const home = mkdtempSync("/tmp/carapace-demo-");
      const env = {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: process.env.HOME ?? home,
        CARAPACE_HOME: home,
        NO_COLOR: "1",
      };
      const bin = process.execPath;
      const core = Bun.spawn([bin, "start"], { env, stdout: "ignore", stderr: "pipe" });
      try {
        ensureHome(home);
        const port = new URL(model.url).port;
        writeFileSync(
          join(home, "config.toml"),
          `[network]\nupstream_url = "${model.url}"\nupstream_allowlist = ["127.0.0.1:${port}"]\n`,
          { mode: 0o600 },
        );
        writeCredential(home, "anthropic_api_key", "sk-ant-demo-key-seen-only-by-the-host-proxy");
        for (let i = 0; i < 200 && (await run(bin, ["status"], env)).code !== 0; i++) await Bun.sleep(50);
        process.stdout.write(
          "== Carapace demo: a real session in the locked-down container, driven by a SCRIPTED model ==\n\n",
        );
        const prompt = await run(bin, ["prompt", "Show me what you can do", "--group", "demo"], env);
        process.stdout.write(stripTerminalEscapes(prompt.stdout));
        if (prompt.code !== 0) process.stderr.write(stripTerminalEscapes(prompt.stderr));
        process.stdout.write("\n== Audit trail (group demo) ==\n");
        process.stdout.write(
          stripTerminalEscapes((await run(bin, ["audit", "tail", "--group", "demo", "-n", "30"], env)).stdout),
        );
        process.stdout.write(
          `\nThe scripted model received ${model.requests.length} API calls, each through the host's egress proxy.\n`,
        );
        return prompt.code === 0 ? EXIT.ok : EXIT.failure;
      } finally {
        await run(bin, ["stop"], env);
        await core.exited;
        await model.close();
        rmSync(home, { recursive: true, force: true });
      }
    }),
});
