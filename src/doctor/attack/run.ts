/**
 * `carapace doctor --attack`: an empirical self-test of the boundary. It starts its own core in a
 * temporary home (the user's home, core and data are never touched; only the configured runtime and
 * image are reused), plants canaries, runs a real session whose built-in scripted model plays every
 * step of ATTACK_STEPS from inside the container, then a second session of the same group that
 * re-reads what the first tried to change, and judges each step.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type ScriptedTurn, scriptedModelConfig, startScriptedModel } from "../../agent/scripted-model.ts";
import { writeCredential } from "../../config/credentials.ts";
import { ensureHome, homePath } from "../../config/home.ts";
import { loadConfig } from "../../config/load.ts";
import { removeAgentTree } from "../../container/agent-tree.ts";
import { instanceId } from "../../container/lockdown.ts";
import { instructionsOf, messagesBodies, type ToolExchange, toolExchanges } from "./exchanges.ts";
import { startHostListener } from "./listener.ts";
import { type ContainerView, viewContainer } from "./observe.ts";
import { ATTACK_GROUP, makeCanaries, OTHER_GROUP, plant } from "./plant.ts";
import { runCarapace, startTempCore, type TempCore } from "./temp-core.ts";
import type { AttackContext, AttackStep, Judgement, Observations } from "./types.ts";

export interface StepReport extends Judgement {
  id: string;
  title: string;
}

export interface AttackReport {
  /** True when no step leaked and every step could be judged. */
  ok: boolean;
  steps: StepReport[];
  /** Why the attack session itself did not run to its end, if it did not. */
  sessionError?: string;
}

export interface AttackOptions {
  /** The user's home: only its [runtime] engine and image are read. */
  userHome: string;
  /** The carapace binary that starts the temporary core (the running executable). */
  carapaceBin: string;
  steps: readonly AttackStep[];
  log?: (line: string) => void;
}

const DONE = "(scripted attack finished)";
const CORE_START_MS = 30_000;
/** A session that has not ended by then is killed; its steps are judged from what it did (or inconclusive). */
const SESSION_MS = 5 * 60_000;

function readAudit(home: string, group: string): Record<string, unknown>[] {
  const file = join(homePath(home, "data/audit"), `${group}.jsonl`);
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
}

/** Cuts a session's exchanges into each step's share, by the number of turns each step played. */
function share(exchanges: ToolExchange[], counts: number[]): ToolExchange[][] {
  const out: ToolExchange[][] = [];
  let at = 0;
  for (const n of counts) {
    out.push(exchanges.slice(at, at + n));
    at += n;
  }
  return out;
}

export async function runAttack(o: AttackOptions): Promise<AttackReport> {
  const log = o.log ?? (() => {});
  const { engine, image } = loadConfig(o.userHome).runtime;
  const root = mkdtempSync("/tmp/carapace-attack-");
  const home = join(root, "home");
  mkdirSync(home, { mode: 0o700 });
  const canaries = makeCanaries();
  const listener = startHostListener();
  const model = await startScriptedModel({ turns: [] });
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: process.env.HOME ?? home,
    CARAPACE_HOME: home,
    NO_COLOR: "1",
    // A real-looking key in the core's own environment: it must never reach the container.
    ANTHROPIC_API_KEY: canaries.hostEnv,
  };
  let core: TempCore | null = null;
  try {
    ensureHome(home);
    writeFileSync(join(home, "config.toml"), scriptedModelConfig(model.url, engine, image), { mode: 0o600 });
    writeCredential(home, "anthropic_api_key", canaries.credential);
    const planted = plant(root, home, canaries);
    const ctx: AttackContext = {
      home,
      canaries,
      hostFile: planted.hostFile,
      otherGroupFile: planted.otherGroupFile,
      otherGroup: OTHER_GROUP,
      listenerUrl: listener.url,
    };
    const perStep = o.steps.map((s) => s.turns(ctx));
    let view: ContainerView | null = null;
    const runtimeBin = engine === "docker" ? "docker" : "podman";
    const turns: ScriptedTurn[] = perStep.flat();
    const first = turns[0] ?? { text: DONE };
    // The host looks at the container once it runs: when Claude Code asks for the first turn.
    turns[0] = {
      respond: () => {
        view = viewContainer(runtimeBin, instanceId(home));
        return first;
      },
    };
    model.script([...turns, { text: DONE }]);
    core = startTempCore(o.carapaceBin, env);
    if (!(await core.ready(CORE_START_MS))) {
      const why = core.stderrTail().trim().split("\n").slice(-3).join(" ");
      throw new Error(
        `[DOCTOR] Error: the self-test's temporary core did not start within ${CORE_START_MS / 1000} s${why ? `: ${why}` : ""}. Fix: run \`carapace doctor\` and fix what it reports, then try again.`,
      );
    }
    log(`attack session: ${turns.length} hostile tool calls from inside the container (scripted model)`);
    const attack = await runCarapace(
      o.carapaceBin,
      ["prompt", "Run the self-test steps.", "--group", ATTACK_GROUP],
      env,
      SESSION_MS,
    );
    const attackBodies = messagesBodies(model.requests);
    const attackCount = model.requests.length;
    const laterPerStep = o.steps.map((s) => s.laterReads?.(ctx) ?? []);
    const laterTurns = laterPerStep
      .flat()
      .map((file_path): ScriptedTurn => ({ tool_use: { name: "Read", input: { file_path } } }));
    model.script([...laterTurns, { text: DONE }]);
    log("verifying session: re-reads what the attack tried to change");
    const verify = await runCarapace(o.carapaceBin, ["prompt", "Verify.", "--group", ATTACK_GROUP], env, SESSION_MS);
    const laterBodies = messagesBodies(model.requests.slice(attackCount));
    const exchanges = toolExchanges(attackBodies.at(-1));
    const seenView = view as ContainerView | null;
    const seen: Observations = {
      containerEnvs: seenView?.envs ?? null,
      inspectEnv: seenView?.inspectEnv ?? null,
      listenerHits: listener.hits,
      requestModels: attackBodies.map((b) => String(b.model ?? "")),
      instructions: instructionsOf(attackBodies[0]),
      later: toolExchanges(laterBodies.at(-1)),
      otherGroupAudit: readAudit(home, OTHER_GROUP),
    };
    const mine = share(
      exchanges,
      perStep.map((t) => t.length),
    );
    const later = share(
      seen.later,
      laterPerStep.map((t) => t.length),
    );
    const steps = o.steps.map((step, i): StepReport => {
      const own = mine[i] ?? [];
      const judged: Judgement =
        own.length < (perStep[i]?.length ?? 0)
          ? {
              verdict: "inconclusive",
              evidence: `the session ended after ${exchanges.length} of ${turns.length} tool calls`,
            }
          : step.judge(ctx, own, seen, later[i] ?? []);
      return { id: step.id, title: step.title, ...judged };
    });
    const failed = [attack, verify].find((r) => r.code !== 0);
    const sessionError = failed
      ? failed.timedOut
        ? `a session did not end within ${SESSION_MS / 1000} s and was stopped`
        : failed.stderr.trim().split("\n").slice(-3).join(" ")
      : undefined;
    return {
      ok: steps.every((s) => s.verdict === "refused" || s.verdict === "contained"),
      steps,
      ...(sessionError ? { sessionError } : {}),
    };
  } finally {
    await core?.stop();
    await model.close();
    await listener.close();
    // The temporary home holds the attack session's workspace: removed without following its links.
    removeAgentTree(root);
  }
}
