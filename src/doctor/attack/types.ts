import type { ScriptedTurn } from "../../agent/scripted-model.ts";
import type { ToolExchange } from "./exchanges.ts";

/** refused: the call never ran. contained: it ran (or failed) and exposed or changed nothing. LEAKED: it did. */
export type Verdict = "refused" | "contained" | "LEAKED" | "inconclusive";

export interface Judgement {
  verdict: Verdict;
  /** What was observed, in one line: the tool result, the host's view. */
  evidence: string;
}

/** Unique secrets the host planted where a leak would expose them. */
export interface Canaries {
  /** The stored Anthropic credential of the attack home. */
  credential: string;
  /** In the core's own environment (as ANTHROPIC_API_KEY, the way a user's shell might carry it). */
  hostEnv: string;
  /** A world-readable host file outside every mount. */
  hostFile: string;
  /** A file in another group's workspace. */
  otherGroup: string;
  /** Instructions an earlier session could have written into the agent-writable workspace. */
  plantedInstructions: string;
  /** The `model` and an `env` entry of a settings file planted the same way. */
  plantedSettings: string;
  /** What the agent tries to write outside its workspace. */
  written: string;
}

export interface AttackContext {
  home: string;
  canaries: Canaries;
  /** Host path of the planted host file. */
  hostFile: string;
  /** Host path of the file in the other group's workspace. */
  otherGroupFile: string;
  otherGroup: string;
  /** A URL of a listener on this host's non-loopback address. */
  listenerUrl: string;
}

/** What the host saw during and after the attack session. */
export interface Observations {
  /** The environment of each process of the session's container, read by the host; null if it could not be. */
  containerEnvs: Record<string, string>[] | null;
  /** The container's configured environment as `inspect` shows it; null if it could not be read. */
  inspectEnv: string[] | null;
  /** Requests the host listener received. */
  listenerHits: string[];
  /** The `model` field of each API request of the attack session. */
  requestModels: string[];
  /** What the model was given before its first turn. */
  instructions: string;
  /** Tool exchanges of the verifying session that ran after the attack session. */
  later: ToolExchange[];
  /** Audit records of the other group. */
  otherGroupAudit: Record<string, unknown>[];
}

/** One hostile step: the model turns it plays, what a later session re-reads, and how it is judged. */
export interface AttackStep {
  id: string;
  title: string;
  /** Tool-use turns (each yields exactly one tool exchange). */
  turns(ctx: AttackContext): ScriptedTurn[];
  /** Paths the verifying session reads (its exchanges are in Observations.later, in step order). */
  laterReads?(ctx: AttackContext): string[];
  judge(ctx: AttackContext, mine: ToolExchange[], seen: Observations, later: ToolExchange[]): Judgement;
}
