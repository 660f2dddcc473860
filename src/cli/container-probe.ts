/**
 * `carapace doctor --probe`, run by install.sh and `carapace setup`: a short container probe on the
 * configured runtime and agent image. A session is opened on the core (the running one, or a child
 * started for the probe), its files are laid out as for an agent, and a container with the session's
 * locked-down run spec runs the probe script in Claude Code's place. Nothing is pinned or kept.
 */
import { randomBytes } from "node:crypto";
import { dirname } from "node:path";
import { prepareSessionFiles, removeSessionFiles } from "../agent/workspace.ts";
import { loadConfig } from "../config/load.ts";
import { CARAPACE_VERSION } from "../config/version.ts";
import { detectRuntime } from "../container/detect.ts";
import { CLAUDE_CODE_VERSION, imageState } from "../container/image.ts";
import { readImagePin } from "../container/image-pin.ts";
import { ContainerLifecycle } from "../container/lifecycle.ts";
import { agentRunSpec, agentUser, instanceId } from "../container/lockdown.ts";
import type { ContainerRuntime } from "../container/runtime.ts";
import { startHostListener } from "../doctor/attack/listener.ts";
import type { CheckResult } from "../doctor/check.ts";
import { judgeProbe, PROBE_SCRIPT } from "../doctor/container-probe.ts";
import { control } from "./control-client.ts";
import { UserError } from "./errors.ts";
import { withCore } from "./smoke-test.ts";

const PROBE_GROUP = "probe";
/** The probe takes a second or two; a container still running after this is stopped and judged. */
const PROBE_TIMEOUT_MS = 60_000;
const TITLE = "container probe";

const skipped = (detail: string, fix: string): CheckResult[] => [
  { id: "probe", title: TITLE, level: "warn", detail: `not run: ${detail}`, fix },
];
const failed = (detail: string, fix: string): CheckResult[] => [
  { id: "probe", title: TITLE, level: "fail", detail, fix },
];

export async function containerProbe(home: string): Promise<CheckResult[]> {
  const config = loadConfig(home);
  const tag = config.runtime.image;
  let detected: Awaited<ReturnType<typeof detectRuntime>>;
  try {
    detected = await detectRuntime({ preference: config.runtime.engine });
  } catch (e) {
    return skipped(`no container runtime (${(e as Error).message})`, "install Podman, then run `carapace setup`");
  }
  const { runtime, info } = detected;
  const state = await imageState(runtime, tag, {
    carapaceVersion: CARAPACE_VERSION,
    claudeCodeVersion: CLAUDE_CODE_VERSION,
  });
  if (state.state === "missing")
    return skipped(
      `the agent image ${tag} is not built yet`,
      "run `carapace setup` (it builds the image and runs this probe)",
    );
  if (state.state === "stale")
    return skipped(
      `the agent image ${tag} is stale (${state.reasons.join("; ")}), so sessions refuse it`,
      "rebuild it with `carapace image build`, then run `carapace doctor --probe`",
    );
  const id = await runtime.imageId(tag);
  const pin = readImagePin(home);
  if (!id || (pin && pin.tag === tag && pin.id !== id))
    return failed(
      `the agent image ${tag} is not the pinned ${pin?.id ?? "image"}; sessions refuse it`,
      "rebuild it with `carapace image build`, which pins the new digest",
    );
  try {
    return await withCore(home, () => probeSession(home, runtime, agentUser(info), id));
  } catch (e) {
    if (e instanceof UserError) return failed(e.what, e.fix);
    return failed((e as Error).message, "run `carapace doctor` and `carapace start` to see more");
  }
}

async function probeSession(
  home: string,
  runtime: ContainerRuntime,
  user: string,
  image: string,
): Promise<CheckResult[]> {
  // A core that has just started removes every container and session file of this home that it did not
  // make itself: the probe (made here, not by the core) waits until that sweep is over.
  await orphanSweepDone(home);
  const session = control(home, "session.open", { group: PROBE_GROUP, agent_user: user }) as {
    id: string;
    socket: string;
  };
  const listener = startHostListener();
  try {
    const files = prepareSessionFiles(home, session.id, PROBE_GROUP, user, {
      prompt: "container probe\n",
      claudeMd: "",
      skills: {},
    });
    const { hostname, port } = new URL(listener.url);
    const lifecycle = new ContainerLifecycle(runtime);
    let output = "";
    const container = lifecycle.spawn(
      agentRunSpec({
        name: `carapace-probe-${session.id.slice(0, 12)}`,
        image,
        instance: instanceId(home),
        sessionId: session.id,
        group: PROBE_GROUP,
        sessionDir: dirname(session.socket),
        workspaceDir: files.workspaceDir,
        claudeStateDir: files.claudeStateDir,
        skillsDir: files.skillsDir,
        claudeMdFile: files.claudeMdFile,
        promptFile: files.promptFile,
        user,
        env: { CARAPACE_CLAUDE_BIN: "/bin/bash" },
        claudeArgs: ["-c", PROBE_SCRIPT, "probe", hostname, port],
      }),
      {
        // The entrypoint's protocol wants a credential line; the probe gets a token nothing accepts.
        stdin: `ANTHROPIC_API_KEY\n${randomBytes(16).toString("hex")}\n`,
        onStdout: (chunk) => {
          output += chunk;
        },
      },
    );
    const timer = setTimeout(() => void container.stop(), PROBE_TIMEOUT_MS);
    const exit = await container.exited;
    clearTimeout(timer);
    if (!output.includes("PROBE-DONE"))
      return failed(
        `the probe container did not finish (${exit.reason}, exit ${exit.code}): ${exit.stderrTail.trim().split("\n").slice(-2).join(" ") || "no output"}`,
        "run `carapace doctor` and fix what it reports",
      );
    return judgeProbe({
      output,
      listenerHits: listener.hits.length,
      session: { id: session.id, group: PROBE_GROUP },
    });
  } finally {
    await listener.close();
    control(home, "session.close", { id: session.id });
    removeSessionFiles(home, session.id);
  }
}

const SWEEP_WAIT_MS = 30_000;

async function orphanSweepDone(home: string): Promise<void> {
  const deadline = Date.now() + SWEEP_WAIT_MS;
  while ((control(home, "status") as { orphans_swept?: boolean }).orphans_swept === false) {
    if (Date.now() > deadline)
      throw new UserError(
        "DOCTOR",
        `the core's start-up sweep of orphaned containers did not finish within ${SWEEP_WAIT_MS / 1000} s`,
        "run `carapace doctor` and check that the container runtime answers",
      );
    await Bun.sleep(50);
  }
}
