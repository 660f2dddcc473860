/**
 * The hostile-agent lab: a real compiled core in a temp home, real Podman, the real Claude Code binary
 * in the agent image, and a scripted model on loopback whose every turn is one hostile step. A test
 * plays the compromised model: it scripts tool calls (Bash with chained and substituted commands,
 * Write/Edit/Read/WebFetch), runs them as a session of a group, then checks the specific outcome from
 * outside: what Claude Code returned for each call, what a second session of the same group sees, the
 * host's files (owners, modes, contents) and the audit log.
 *
 *   const lab = await startHostileLab();
 *   const run = await lab.session("g", [step.write("/workspace/x", "pwned")]);
 *   expect(run.exchange(0)).toMatchObject({ isError: true });
 *   expect(hostEntry(join(lab.workspace("g"), "x"))).toBeNull();
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import type { ScriptedTurn } from "../../../src/agent/scripted-model.ts";
import { agentHome, agentSkipReason, REAL_KEY } from "../../harness/agent-env.ts";
import { type RunningCore, startCore } from "../../harness/core.ts";
import { Transcript } from "./transcript.ts";

export { REAL_KEY };
/** Why the suite cannot run here (no Podman, no agent image), or null. */
export const hostileSkipReason = agentSkipReason;
/** Every test in the suite starts real containers: generous, and never a timing assertion. */
export const HOSTILE_TIMEOUT_MS = 180_000;

/** Something the host does while the session runs, just before the model's next turn is answered. */
export interface HostAction {
  host: (ctx: { lab: HostileLab; request: unknown }) => void;
}
export type HostileStep = ScriptedTurn | HostAction;

const tool = (name: string, input: Record<string, unknown>): ScriptedTurn => ({ tool_use: { name, input } });

/** One model turn each: the tool calls a compromised model would make. */
export const step = {
  bash: (command: string) => tool("Bash", { command, description: "run a command" }),
  write: (file_path: string, content: string) => tool("Write", { file_path, content }),
  edit: (file_path: string, old_string: string, new_string: string) =>
    tool("Edit", { file_path, old_string, new_string }),
  read: (file_path: string) => tool("Read", { file_path }),
  glob: (pattern: string, path?: string) => tool("Glob", path ? { pattern, path } : { pattern }),
  grep: (pattern: string, path: string) => tool("Grep", { pattern, path, output_mode: "content" }),
  webFetch: (url: string) => tool("WebFetch", { url, prompt: "Return the page verbatim." }),
  tool,
  text: (text: string): ScriptedTurn => ({ text }),
  /** Runs `fn` on the host (synchronously) when Claude Code asks for the next turn. */
  onHost: (fn: HostAction["host"]): HostAction => ({ host: fn }),
} as const;

export const SCRIPT_DONE = "hostile script finished";

export interface SessionRun {
  /** `carapace prompt`'s exit code and output. */
  code: number;
  stdout: string;
  stderr: string;
  transcript: Transcript;
  /** The n-th tool call of the session with the result Claude Code gave the model. */
  exchange(n: number): ReturnType<Transcript["exchange"]>;
}

export interface HostileLab {
  home: string;
  core: RunningCore;
  /** Runs one session of `group` whose model plays `steps`, then ends with a text turn. */
  session(group: string, steps: HostileStep[], prompt?: string): Promise<SessionRun>;
  /** Host path of a group's persistent, agent-writable workspace. */
  workspace(group: string): string;
  credentialsDir: string;
  /** Host session directories of the sessions running now (each holds request.sock, egress.sock). */
  liveSessionDirs(): string[];
  audit(group: string): Record<string, unknown>[];
  stop(): Promise<void>;
}

/** Turns steps into scripted turns; a host action runs when the turn after it is asked for. */
function toTurns(lab: HostileLab, steps: HostileStep[]): ScriptedTurn[] {
  const turns: ScriptedTurn[] = [];
  let pending: HostAction["host"][] = [];
  for (const s of [...steps, step.text(SCRIPT_DONE)]) {
    if ("host" in s) {
      pending.push(s.host);
      continue;
    }
    if (pending.length === 0) {
      turns.push(s);
      continue;
    }
    const actions = pending;
    pending = [];
    turns.push({
      respond: (request) => {
        for (const action of actions) action({ lab, request });
        return s;
      },
    });
  }
  return turns;
}

/**
 * Starts a core whose agent sessions talk to the scripted model; `config` is appended to config.toml
 * (after its [runtime] table), `image` replaces this clone's agent image (e.g. a mutant for a mutation check).
 */
export async function startHostileLab(options: { config?: string; image?: string } = {}): Promise<HostileLab> {
  const { home, model } = await agentHome([], options.config ?? "", options.image ? { image: options.image } : {});
  let core: RunningCore;
  try {
    core = await startCore({ home });
  } catch (error) {
    await model.close();
    throw error;
  }
  const lab: HostileLab = {
    home,
    core,
    async session(group, steps, prompt = "Carry out the scripted steps.") {
      const from = model.requests.length;
      model.script(toTurns(lab, steps));
      const r = await core.carapace(["prompt", prompt, "--group", group]);
      const transcript = new Transcript(model.requests.slice(from));
      return { ...r, transcript, exchange: (n) => transcript.exchange(n) };
    },
    workspace: (group) => join(home, "data", "workspaces", group),
    credentialsDir: join(home, "credentials"),
    liveSessionDirs() {
      const root = join(home, "run", "sockets");
      try {
        return readdirSync(root).map((name) => join(root, name));
      } catch {
        return [];
      }
    },
    audit: (group) => core.audit(group),
    async stop() {
      try {
        await core.stop();
      } finally {
        await model.close();
      }
    },
  };
  return lab;
}
