import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { defineCommand } from "citty";
import type { TaskUpdate } from "../agent/manager.ts";
import { type ScriptedTurn, scriptedModelConfig, startScriptedModel } from "../agent/scripted-model.ts";
import { writeCredential } from "../config/credentials.ts";
import { ensureHome } from "../config/home.ts";
import { loadConfig } from "../config/load.ts";
import { removeAgentTree } from "../container/agent-tree.ts";
import { stripTerminalEscapes } from "../core/response/terminal-text.ts";
import { CORE_ALLOCATOR_ENV } from "../platform/allocator-env.ts";
import { untilCoreAnswers } from "./control-client.ts";
import { EXIT } from "./errors.ts";
import { progress } from "./progress.ts";
import { withHome } from "./run-command.ts";

const bash = (command: string): ScriptedTurn => ({
  tool_use: { name: "Bash", input: { command, description: "call a Carapace tool" } },
});

/** The scripted conversation: hello, memory store and search, then an answer. Not a model. */
export const DEMO_TURNS: ScriptedTurn[] = [
  bash(`ipc hello.greet '{"name":"Carapace newcomer"}'`),
  bash(`ipc memory_store '{"type":"fact","content":"The demo ran on this machine","tags":["demo"]}'`),
  bash(`ipc memory_search '{"query":"demo"}'`),
  bash(`ipc demo_outbox.send '{"to":"you","text":"hello from the demo"}'`),
  bash(`ipc hello.echo '{"message":"hi","group":"admin"}'`),
  {
    text:
      "[scripted model] Done: I greeted you through hello.greet, stored and found a memory, sent a message " +
      "with a high-risk tool once you approved it, and my attempt to claim another group was rejected by the " +
      "core (VALIDATION_FAILED at stage 3).",
  },
];

/** A high-risk demo tool, installed into the demo's temporary home only. */
function installDemoPlugin(home: string): void {
  const dir = join(home, "plugins", "demo_outbox");
  mkdirSync(join(dir, "skills"), { recursive: true, mode: 0o755 });
  const schema = {
    type: "object",
    properties: { to: { type: "string", maxLength: 100 }, text: { type: "string", maxLength: 1000 } },
    required: ["to", "text"],
    additionalProperties: false,
  };
  const manifest = {
    description: "Demo: pretends to send a message; high risk, so every call waits for approval.",
    version: "1.0.0",
    author: "Carapace demo",
    provides: {
      tools: [
        {
          name: "demo_outbox.send",
          description: "Send a message (demo).",
          risk_level: "high",
          arguments_schema: schema,
        },
      ],
    },
  };
  writeFileSync(join(dir, "manifest.json"), JSON.stringify(manifest, null, 2), { mode: 0o644 });
  writeFileSync(
    join(dir, "handler.ts"),
    "export default { initialize() {}, handleToolInvocation(_t: string, args: Record<string, unknown>) { return { sent: true, to: args.to }; } };\n",
    { mode: 0o644 },
  );
  chmodSync(dir, 0o755);
}

/**
 * Runs `carapace prompt --json` and answers each confirmation the core pushes on the prompt's stream
 * (no polling), the way a person would with `carapace approve <id>`. Returns the text a plain prompt prints.
 */
async function promptApproving(bin: string, env: Record<string, string>, text: string, group: string) {
  const p = Bun.spawn([bin, "prompt", text, "--group", group, "--json"], { env, stdout: "pipe", stderr: "pipe" });
  const stderr = new Response(p.stderr).text();
  let streamed = "";
  let answer = "";
  const approvals: Promise<unknown>[] = [];
  const onUpdate = (u: TaskUpdate) => {
    if (u.kind === "confirmation") {
      process.stdout.write(`[demo] the agent asks to run high-risk ${u.tool} ${stripTerminalEscapes(u.summary)}\n`);
      process.stdout.write(`[demo] approving it, as you would with: carapace approve ${u.id}\n`);
      approvals.push(run(bin, ["approve", u.id], env));
    }
    if (u.kind === "event" && u.event.topic === "response.chunk") streamed += `${u.event.payload.text}\n`;
    if (u.kind === "event" && u.event.topic === "response.end") answer = `${u.event.payload.result}\n`;
  };
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of p.stdout) {
    buffered += decoder.decode(chunk, { stream: true });
    let nl = buffered.indexOf("\n");
    while (nl >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      try {
        onUpdate(JSON.parse(line) as TaskUpdate);
      } catch {
        // not an update line: nothing to answer
      }
      nl = buffered.indexOf("\n");
    }
  }
  const code = await p.exited;
  await Promise.all(approvals);
  return { stdout: streamed || answer, stderr: await stderr, code };
}

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
      "First-run self-test without an API key: a real agent session in the real locked-down container.\n" +
      "The agent is driven by a built-in SCRIPTED model (not a real model); the audit trail is shown after it. Uses a temporary home.\n" +
      "Exit codes: 0 the session completed; 1 it failed (see the output).",
  },
  run: () => withHome((userHome) => runDemo(userHome)),
});

/** The demo as `carapace demo` runs it (setup offers it last). Exit code 0 when the session completed. */
export async function runDemo(userHome: string): Promise<number> {
  // The demo's temporary home runs the container runtime and image the user configured.
  const { engine, image } = loadConfig(userHome).runtime;
  const model = await startScriptedModel({ turns: DEMO_TURNS });
  const home = mkdtempSync("/tmp/carapace-demo-");
  const env = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: process.env.HOME ?? home,
    CARAPACE_HOME: home,
    NO_COLOR: "1",
    // The core starts with its allocator options instead of re-executing itself to get them.
    ...CORE_ALLOCATOR_ENV,
  };
  const bin = process.execPath;
  // The home is complete before the core starts: the core reads its config and plugins once, at start.
  ensureHome(home);
  writeFileSync(join(home, "config.toml"), scriptedModelConfig(model.url, engine, image), { mode: 0o600 });
  writeCredential(home, "anthropic_api_key", "sk-ant-demo-key-seen-only-by-the-host-proxy");
  installDemoPlugin(home);
  const core = Bun.spawn([bin, "start"], { env, stdout: "ignore", stderr: "pipe" });
  try {
    // Not answering, the prompt below fails with the core's own error.
    await untilCoreAnswers(home, core, 20_000);
    process.stdout.write(
      "== Carapace demo: a real session in the locked-down container, driven by a SCRIPTED model ==\n\n",
    );
    const starting = progress("starting the agent's container");
    const prompt = await promptApproving(bin, env, "Show me what you can do", "demo");
    starting.end("the agent's session ended");
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
    // What `carapace stop` asks for, without a process of its own: the core stops gracefully on SIGTERM.
    core.kill("SIGTERM");
    await core.exited;
    await model.close();
    // The demo home holds its agent's workspace: removed without following links.
    removeAgentTree(home);
  }
}
