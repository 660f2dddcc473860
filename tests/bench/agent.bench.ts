import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { startScriptedModel } from "../../src/agent/scripted-model.ts";
import { DEMO_TURNS } from "../../src/cli/demo.ts";
import { CLAUDE_CODE_VERSION } from "../../src/container/image.ts";
import { agentHome, agentImage, agentSkipReason } from "../harness/agent-env.ts";
import { ensureBinaries } from "../harness/binaries.ts";
import { startCore, tempHome } from "../harness/core.ts";
import { type BenchFigure, median, spreadFigure } from "./figure.ts";

const CLAUDE = join(import.meta.dir, "../../build/.generated/claude-code", CLAUDE_CODE_VERSION, process.arch, "claude");

/** Runs a command, returns ms to the first stdout line matching `first` and ms to exit. */
async function timed(
  cmd: string[],
  env: Record<string, string>,
  first: (line: string) => boolean,
): Promise<{ first: number; total: number }> {
  const t0 = performance.now();
  const p = Bun.spawn(cmd, { env, stdout: "pipe", stderr: "ignore", stdin: "ignore" });
  let firstAt = Number.NaN;
  let buf = "";
  for await (const chunk of p.stdout as ReadableStream<Uint8Array>) {
    buf += new TextDecoder().decode(chunk);
    const lines = buf.split("\n");
    buf = lines.pop() ?? "";
    if (Number.isNaN(firstAt) && lines.some(first)) firstAt = performance.now() - t0;
  }
  await p.exited;
  return { first: firstAt, total: performance.now() - t0 };
}

export async function runAgentBench(opts: { quick: boolean }): Promise<BenchFigure[]> {
  if (agentSkipReason || !existsSync(CLAUDE)) {
    const skipped = {
      name: `agent bench skipped: ${agentSkipReason ?? "Claude Code not fetched"}`,
      value: 0,
      unit: "n/a",
    };
    // The demo needs only the image (Claude Code is inside it).
    return [skipped, ...(agentSkipReason ? [] : await demoAgainstDirect(opts))];
  }
  const runs = opts.quick ? 2 : 5;
  const figures: BenchFigure[] = [];
  const text = { text: "benchmark answer" };

  // Baseline: the same Claude Code binary run directly on the host against the same scripted server.
  const direct: { first: number; total: number }[] = [];
  for (let i = 0; i < runs; i++) {
    const model = await startScriptedModel({ turns: [text] });
    const home = mkdtempSync("/tmp/cpab-");
    direct.push(
      await timed(
        [CLAUDE, "-p", "hi", "--output-format", "stream-json", "--verbose"],
        {
          PATH: "/usr/bin:/bin",
          HOME: home,
          ANTHROPIC_BASE_URL: model.url,
          ANTHROPIC_API_KEY: "bench",
          CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
        },
        (l) => l.includes('"type":"assistant"'),
      ),
    );
    await model.close();
    rmSync(home, { recursive: true, force: true });
  }

  // Carapace: prompt → locked container → egress proxy → the same scripted server.
  // A running core: the first prompt after start also pays runtime detection (reported separately).
  const carapace: { first: number; total: number }[] = [];
  const { carapace: bin } = ensureBinaries();
  const { home: agentHomeDir, model: agentModel } = await agentHome(Array.from({ length: runs + 1 }, () => text));
  const agentCore = await startCore({ home: agentHomeDir });
  const cold = await timed([bin, "prompt", "hi", "--json"], agentCore.env, (l) => l.includes('"response.chunk"'));
  for (let i = 0; i < runs; i++) {
    carapace.push(await timed([bin, "prompt", "hi", "--json"], agentCore.env, (l) => l.includes('"response.chunk"')));
  }
  await agentCore.stop();
  await agentModel.close();

  // Spawn → first answered ipc call: the locked-down image running `ipc` against a real session
  // socket, against the same locked-down run of bash doing nothing (the image has no /bin/true).
  const core = await startCore();
  const session = await core.openSession("bench");
  // Bench only: let the container's unprivileged user reach this session's socket.
  Bun.spawnSync(["chmod", "0777", dirname(session.socket)]);
  Bun.spawnSync(["chmod", "0666", session.socket]);
  const image = agentImage.tag;
  const locked = [
    "run",
    "--rm",
    "--runtime",
    "runc",
    "--network=none",
    "--read-only",
    "--cap-drop=ALL",
    "--security-opt=no-new-privileges",
    "--user",
    "65534:65534",
  ];
  const bare: number[] = [];
  const firstIpc: number[] = [];
  let answered = 0;
  for (let i = 0; i < runs; i++) {
    let t0 = performance.now();
    Bun.spawnSync(["podman", ...locked, "--entrypoint", "/bin/bash", image, "-c", ":"]);
    bare.push(performance.now() - t0);
    t0 = performance.now();
    const r = Bun.spawnSync([
      "podman",
      ...locked,
      "--mount",
      `type=bind,source=${dirname(session.socket)},target=/run/carapace`,
      "--entrypoint",
      "/usr/local/bin/ipc",
      image,
      "hello.time",
      "{}",
    ]);
    firstIpc.push(performance.now() - t0);
    if (r.exitCode === 0) answered++;
  }
  await core.stop();

  const d = { first: median(direct.map((x) => x.first)), total: median(direct.map((x) => x.total)) };
  const c = { first: median(carapace.map((x) => x.first)), total: median(carapace.map((x) => x.total)) };
  figures.push({
    name: "prompt → first token, Carapace / direct Claude Code",
    value: Number((c.first / d.first).toFixed(2)),
    unit: "ratio",
    baseline: { name: "direct claude -p, first assistant line", value: Math.round(d.first), unit: "ms" },
  });
  figures.push({
    name: "prompt → answer, Carapace / direct Claude Code",
    value: Number((c.total / d.total).toFixed(2)),
    unit: "ratio",
    baseline: { name: "direct claude -p, exit", value: Math.round(d.total), unit: "ms" },
  });
  figures.push({ name: "prompt → answer through Carapace (running core)", value: Math.round(c.total), unit: "ms" });
  figures.push({
    name: "first prompt after core start (includes runtime detection)",
    value: Math.round(cold.total),
    unit: "ms",
  });
  const b = median(bare);
  const f = median(firstIpc);
  figures.push({
    name: "spawn → first answered ipc call / bare podman run of bash -c :",
    value: Number((f / b).toFixed(2)),
    unit: "ratio",
    baseline: { name: "podman run --rm <image> true", value: Math.round(b), unit: "ms" },
    goal: `<= 1.5 (${answered}/${runs} calls answered)`,
  });
  figures.push(...(await demoAgainstDirect(opts)));
  return figures;
}

/** The demo's high-risk tool, installed low-risk: the direct run has nobody to approve it. */
function installLowRiskOutbox(home: string): void {
  const dir = join(home, "plugins", "demo_outbox");
  mkdirSync(join(dir, "skills"), { recursive: true, mode: 0o755 });
  const tool = {
    name: "demo_outbox.send",
    description: "Send a message (demo).",
    risk_level: "low",
    arguments_schema: {
      type: "object",
      properties: { to: { type: "string", maxLength: 100 }, text: { type: "string", maxLength: 1000 } },
      required: ["to", "text"],
      additionalProperties: false,
    },
  };
  const manifest = { description: "Bench copy of the demo outbox.", version: "1.0.0", author: "bench" };
  writeFileSync(join(dir, "manifest.json"), JSON.stringify({ ...manifest, provides: { tools: [tool] } }), {
    mode: 0o644,
  });
  writeFileSync(
    join(dir, "handler.ts"),
    "export default { initialize() {}, handleToolInvocation(_t: string, args: Record<string, unknown>) { return { sent: true, to: args.to }; } };\n",
    { mode: 0o644 },
  );
}

/**
 * `carapace demo` (start a core in a fresh home, a session in the locked container through the egress
 * proxy, the approval, the audit trail, stop) against its script run directly: the same image, its
 * entrypoint and Claude Code, the same scripted turns, `podman run` with the host's network straight to
 * the scripted model, and the same five ipc calls answered by an already running core (its start is not
 * counted; the high-risk tool is installed low-risk there, since nobody approves). Interleaved.
 */
async function demoAgainstDirect(opts: { quick: boolean }): Promise<BenchFigure[]> {
  // About 20 s a repetition: quick mode (CI, under 3 minutes in all) leaves it out.
  if (opts.quick) return [{ name: "carapace demo / its script run directly: full mode only", value: 0, unit: "n/a" }];
  const reps = 5;
  const { carapace: bin } = ensureBinaries();
  const userHome = tempHome();
  writeFileSync(join(userHome, "config.toml"), `[runtime]\nimage = "${agentImage.tag}"\n`, { mode: 0o600 });
  const coreHome = tempHome();
  installLowRiskOutbox(coreHome);
  const core = await startCore({ home: coreHome });
  const demo: number[] = [];
  const direct: number[] = [];
  const ratios: number[] = [];
  let failed = 0;
  try {
    for (let rep = 0; rep < reps; rep++) {
      const session = await core.openSession("demo");
      // Bench only: let the container's unprivileged user reach this session's socket.
      chmodSync(dirname(session.socket), 0o777);
      chmodSync(session.socket, 0o666);
      const model = await startScriptedModel({ turns: DEMO_TURNS });
      const state = mkdtempSync("/tmp/cpdemo-");
      chmodSync(state, 0o777);
      const prompt = join(state, "prompt.md");
      writeFileSync(prompt, "Show me what you can do", { mode: 0o644 });
      let t0 = performance.now();
      const p = Bun.spawn(
        [
          "podman",
          "run",
          "--rm",
          "-i",
          "--runtime",
          "runc",
          "--network=host",
          "--read-only",
          "--cap-drop=ALL",
          "--security-opt=no-new-privileges",
          "--user",
          "65534:65534",
          "--mount",
          `type=bind,source=${dirname(session.socket)},target=/run/carapace`,
          "--mount",
          `type=bind,source=${state},target=/home/agent/.claude`,
          "--mount",
          `type=bind,source=${prompt},target=/carapace/prompt.md,readonly`,
          "-e",
          `ANTHROPIC_BASE_URL=${model.url}`,
          agentImage.tag,
          "-p",
          "--output-format",
          "stream-json",
          "--verbose",
          "--setting-sources",
          "",
          "--strict-mcp-config",
        ],
        // The entrypoint's stdin protocol: a credential name, then its value.
        { stdin: new TextEncoder().encode("ANTHROPIC_API_KEY\nbench\n"), stdout: "ignore", stderr: "ignore" },
      );
      const directOk = (await p.exited) === 0 && model.requests.length === DEMO_TURNS.length;
      const d = performance.now() - t0;
      await model.close();
      await core.closeSession(session.id);
      rmSync(state, { recursive: true, force: true });

      t0 = performance.now();
      const r = Bun.spawn([bin, "demo"], {
        env: { PATH: "/usr/bin:/bin", HOME: userHome, CARAPACE_HOME: userHome, NO_COLOR: "1" },
        stdout: "ignore",
        stderr: "ignore",
      });
      const demoOk = (await r.exited) === 0;
      const m = performance.now() - t0;
      if (!directOk || !demoOk) {
        failed++;
        continue;
      }
      direct.push(d);
      demo.push(m);
      ratios.push(m / d);
    }
  } finally {
    await core.stop();
    rmSync(userHome, { recursive: true, force: true });
  }
  if (ratios.length === 0) return [{ name: `demo bench: every run failed (${failed})`, value: 0, unit: "n/a" }];
  const d = median(direct);
  return [
    spreadFigure("carapace demo", demo, "ms"),
    spreadFigure("demo script run directly (podman run, scripted model, running core)", direct, "ms"),
    spreadFigure("carapace demo / its script run directly", ratios, "ratio", 2, {
      baseline: { name: "podman run of the image with the demo's scripted turns", value: Math.round(d), unit: "ms" },
      goal: `<= 1.5${failed > 0 ? ` (${failed} runs failed)` : ""}`,
    }),
  ];
}

/** min/median/max of ms figures, rounded. */
function spread(values: number[]): string {
  const s = values.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  return `${Math.round(s[0] ?? 0)}/${Math.round(median(s))}/${Math.round(s.at(-1) ?? 0)} ms`;
}

/** Waits until the group's pre-started container is running (in use the next prompt comes much later). */
async function warmRunning(bin: string, env: Record<string, string>, group: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const r = Bun.spawnSync([bin, "status", "--json"], { env });
    const warm = (
      JSON.parse(r.stdout.toString() || "{}") as { warm_containers?: { group: string; container: string }[] }
    ).warm_containers?.find((w) => w.group === group && w.container);
    if (warm) {
      const state = Bun.spawnSync(["podman", "inspect", "--format", "{{.State.Status}}", warm.container]);
      if (state.stdout.toString().trim() === "running") return;
    }
    await Bun.sleep(100);
  }
  throw new Error(`no pre-started container for ${group} became ready`);
}

/**
 * Pre-started containers (`[runtime] prestart`): prompt → first token and prompt → first answered tool
 * call through a running core whose group has a container waiting, against, in the same interleaved
 * repetitions: the same Claude Code run directly on the host, the same Claude Code in a fresh
 * `podman run` of the agent image (the cold direct run in a container), and the same core without
 * prestart (cold sessions).
 */
export async function runPrestartBench(opts: { quick: boolean }): Promise<BenchFigure[]> {
  if (agentSkipReason || !existsSync(CLAUDE)) {
    return [{ name: `prestart bench skipped: ${agentSkipReason ?? "Claude Code not fetched"}`, value: 0, unit: "n/a" }];
  }
  const runs = opts.quick ? 2 : 5;
  const text = { text: "benchmark answer" };
  const tool = (command: string) => ({ tool_use: { name: "Bash", input: { command, description: "bench tool" } } });
  const isToken = (l: string) => l.includes('"response.chunk"');
  const isAnswered = (l: string) => l.includes('"response.tool_result"');
  const directToken = (l: string) => l.includes('"type":"assistant"');
  const directAnswered = (l: string) => l.includes('"tool_result"');
  // Each request answered by what it asks, not by its place in a sequence: a retried request cannot shift the script.
  const script = (command: string) =>
    Array.from({ length: 20 * runs + 10 }, () => ({
      respond: (req: unknown) => {
        const messages = (req as { messages?: { role: string; content: unknown }[] }).messages ?? [];
        const last = JSON.stringify(messages.filter((x) => x.role === "user").at(-1)?.content ?? "");
        if (last.includes("tool_result")) return { text: "tool answered" };
        return last.includes("use the tool") ? tool(command) : text;
      },
    }));
  const { carapace: bin } = ensureBinaries();
  const homes = await Promise.all(
    [true, false].map((prestart) => agentHome(script(`ipc hello.time '{}'`), prestart ? "prestart = true\n" : "")),
  );
  const [warmCore, coldCore] = await Promise.all(homes.map(({ home }) => startCore({ home })));
  if (!warmCore || !coldCore) throw new Error("cores did not start");
  const prompt = (core: typeof warmCore, line: (l: string) => boolean, text = "hi") =>
    timed([bin, "prompt", text, "--json", "--group", "bench"], core.env, line);
  // The first prompt of each core detects the runtime and makes the group active.
  await prompt(warmCore, isToken);
  await prompt(coldCore, isToken);

  const m = {
    warmFirst: [],
    coldFirst: [],
    hostFirst: [],
    podmanFirst: [],
    warmTool: [],
    coldTool: [],
    hostTool: [],
  } as Record<string, number[]>;
  const push = (k: string, v: number) => m[k]?.push(v);
  for (let i = 0; i < runs; i++) {
    const model = await startScriptedModel({ turns: script("echo ok") });
    const home = mkdtempSync("/tmp/cpab-");
    const env = {
      PATH: "/usr/bin:/bin",
      HOME: home,
      ANTHROPIC_BASE_URL: model.url,
      ANTHROPIC_API_KEY: "bench",
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
    };
    const args = ["-p", "hi", "--output-format", "stream-json", "--verbose"];
    await warmRunning(bin, warmCore.env, "bench");
    push("warmFirst", (await prompt(warmCore, isToken)).first);
    push("coldFirst", (await prompt(coldCore, isToken)).first);
    push("hostFirst", (await timed([CLAUDE, ...args], env, directToken)).first);
    push(
      "podmanFirst",
      (
        await timed(
          [
            "podman",
            "run",
            "--rm",
            "--network=host",
            ...Object.entries({
              ...env,
              HOME: "/tmp",
              CLAUDE_CONFIG_DIR: "/tmp/.claude",
              TMPDIR: "/tmp",
              PATH: "/usr/local/bin:/usr/bin:/bin",
            }).flatMap(([k, v]) => ["-e", `${k}=${v}`]),
            "--entrypoint",
            "/usr/local/bin/claude",
            agentImage.tag,
            ...args,
          ],
          { PATH: "/usr/bin:/bin", HOME: process.env.HOME ?? "/root" },
          directToken,
        )
      ).first,
    );
    await warmRunning(bin, warmCore.env, "bench");
    push("warmTool", (await prompt(warmCore, isAnswered, "use the tool")).first);
    push("coldTool", (await prompt(coldCore, isAnswered, "use the tool")).first);
    const toolArgs = ["-p", "use the tool", ...args.slice(2), "--allowedTools", "Bash(echo:*)"];
    push("hostTool", (await timed([CLAUDE, ...toolArgs], env, directAnswered)).first);
    await model.close();
    rmSync(home, { recursive: true, force: true });
  }
  await Promise.all([warmCore.stop(), coldCore.stop()]);
  await Promise.all(homes.map(({ model }) => model.close()));

  const med = (k: string) => median((m[k] ?? []).filter((x) => !Number.isNaN(x)));
  const ratio = (a: string, b: string) => Number((med(a) / med(b)).toFixed(2));
  for (const [k, v] of Object.entries(m)) {
    const failed = v.filter((x) => Number.isNaN(x)).length;
    process.stderr.write(
      `[BENCH] prestart ${k}: min/median/max ${spread(v)}${failed ? `, ${failed} without the line` : ""}\n`,
    );
  }
  return [
    {
      name: `prompt → first token, pre-started / cold direct claude -p in podman run (${spread(m.warmFirst ?? [])})`,
      value: ratio("warmFirst", "podmanFirst"),
      unit: "ratio",
      baseline: {
        name: `podman run <image> claude -p, first assistant line (${spread(m.podmanFirst ?? [])})`,
        value: Math.round(med("podmanFirst")),
        unit: "ms",
      },
      goal: "<= 0.5",
    },
    {
      name: "prompt → first token, pre-started / direct claude -p on the host",
      value: ratio("warmFirst", "hostFirst"),
      unit: "ratio",
      baseline: {
        name: `claude -p on the host, first assistant line (${spread(m.hostFirst ?? [])})`,
        value: Math.round(med("hostFirst")),
        unit: "ms",
      },
    },
    {
      name: "prompt → first token, pre-started / cold Carapace session",
      value: ratio("warmFirst", "coldFirst"),
      unit: "ratio",
      baseline: {
        name: `cold session, first response.chunk (${spread(m.coldFirst ?? [])})`,
        value: Math.round(med("coldFirst")),
        unit: "ms",
      },
    },
    {
      name: `prompt → first answered tool call, pre-started / direct claude -p on the host (${spread(m.warmTool ?? [])})`,
      value: ratio("warmTool", "hostTool"),
      unit: "ratio",
      baseline: {
        name: `claude -p on the host, first tool_result (${spread(m.hostTool ?? [])})`,
        value: Math.round(med("hostTool")),
        unit: "ms",
      },
      goal: "<= 1.1",
    },
    {
      name: "prompt → first answered tool call, cold Carapace session / direct claude -p on the host",
      value: ratio("coldTool", "hostTool"),
      unit: "ratio",
      baseline: { name: `claude -p on the host, first tool_result`, value: Math.round(med("hostTool")), unit: "ms" },
      goal: "<= 1.1",
    },
  ];
}
