import { randomBytes } from "node:crypto";
import { dirname, join } from "node:path";
import type { Config } from "../config/keys.ts";
import { budgetsFor, groupSettings, limitsFromConfig } from "../config/load.ts";
import { grantSocketToAgent } from "../container/agent-tree.ts";
import type { DetectedRuntime } from "../container/detect.ts";
import { sessionImage } from "../container/image-current.ts";
import { type AgentContainer, ContainerLifecycle } from "../container/lifecycle.ts";
import { assertLimitsEnforced } from "../container/limits.ts";
import { agentRunSpec, agentUser, instanceId } from "../container/lockdown.ts";
import type { ContainerRuntime, RunSpec, RuntimeInfo } from "../container/runtime.ts";
import { provisionSessionDir, removeSessionDir } from "../container/sockets.ts";
import type { ArgumentField } from "../core/approval-request.ts";
import type { AgentServices, OpenedSession } from "../core/core-services.ts";
import { logLine } from "../core/response/log-stream.ts";
import { sanitize } from "../core/response/sanitize.ts";
import { summarizeUsage } from "../core/usage-summary.ts";
import { LineSplitter } from "../platform/line-splitter.ts";
import { mintIdentity } from "../protocol/envelope.ts";
import {
  type BegunTurn,
  type Conversation,
  type ConversationChoice,
  Conversations,
  historyLimits,
  type Sender,
} from "./conversations/conversations.ts";
import { inboundConversation } from "./conversations/inbound.ts";
import { GroupLedger, sessionBudget } from "./egress-budget.ts";
import { readAnthropicCredential, type StoredAnthropicCredential } from "./egress-credential.ts";
import { startEgressProxy } from "./egress-proxy.ts";
import { prestartedMessage } from "./prestarted-message.ts";
import { type AgentEvent, eventsFromLine } from "./stream-json.ts";
import { type WarmContainer, WarmPool, type WarmView } from "./warm-pool.ts";
import {
  claudeMd,
  removeSessionFiles,
  removeStaleSessionFiles,
  reserveSessionFiles,
  type SessionFiles,
  writeSessionInputs,
} from "./workspace.ts";

export interface Task {
  id: string;
  group: string;
  prompt: string;
  origin: "cli" | "channel" | "schedule";
  replyTo?: unknown;
  /** The conversation this message continues, and who sent it: the prompt is rendered from its turns. */
  conversation?: { readonly at: Conversation; readonly sender: Sender; readonly chat?: string };
}

/** What a waiting caller (e.g. `carapace prompt`) is told as the task runs. */
export type TaskUpdate =
  | { kind: "event"; event: AgentEvent }
  | { kind: "confirmation"; id: string; tool: string; summary: string; fields: ArgumentField[]; request_hash: string }
  | { kind: "state"; state: "queued" | "started" }
  | { kind: "done"; ok: boolean; answer: string; error?: string; conversation?: string };

/**
 * One task's session while it is set up and runs. Each step that sets something up (the session, the
 * proxy, the confirmation subscription, the timer) adds its release at once; they run newest first when
 * the run ends, so a step that throws (a failed spawn) leaks nothing set up before it.
 */
interface SessionRun {
  readonly task: Task;
  session: OpenedSession | null;
  /** The conversation turn this run answers, once recorded. */
  turn: BegunTurn | null;
  answer: string;
  failure: string | undefined;
  readonly releases: (() => unknown)[];
}

const TASK_TIMEOUT_MS = 30 * 60_000;
const BRIEF_BUDGET_MS = 5_000;
/** A pre-started container nobody claimed for this long is ended, and not replaced until its group runs again. */
const WARM_IDLE_MS = 30 * 60_000;
/** Under Claude Code's 10-minute limit for a key helper to answer (the pre-started one waits for the claim). */
const WARM_MAX_AGE_MS = 9 * 60_000;

/**
 * Event-driven agent sessions: `task.triggered` and `message.inbound` for a configured group
 * spawn Claude Code in a locked-down container; its stream-json becomes `response.*` events and the
 * answer goes back to whoever asked.
 */
export class AgentManager {
  private runtime: Promise<DetectedRuntime & { lifecycle: ContainerLifecycle }> | null = null;
  private lifecycle: ContainerLifecycle | null = null;
  private readonly running = new Map<string, number>();
  /** Sessions whose files exist under run/agents now; the start-up sweep leaves them alone. */
  private readonly liveSessions = new Set<string>();
  private readonly queues = new Map<string, Task[]>();
  private readonly watchers = new Map<string, Set<(u: TaskUpdate) => void>>();
  private readonly unsubscribe: () => void;
  private stopped = false;
  private inboundRoutes: ((replyTo: unknown) => ((u: TaskUpdate) => void) | undefined) | null = null;
  /** What each group spent today, shared by its sessions' proxies; seeded from the audit log. */
  private readonly ledger = new GroupLedger(async (group, day) => {
    const [row] = await summarizeUsage(this.home, { group, day });
    return { tokens: row?.tokens ?? 0, requests: row?.calls ?? 0 };
  });

  readonly conversations: Conversations;
  /** Pre-started containers, one per active group, when `[runtime] prestart` is on. */
  private readonly warm: WarmPool;
  private swept = false;

  constructor(
    private readonly home: string,
    private readonly core: AgentServices,
    private readonly config: Config,
    /** The container runtime sessions run on, found when the first session needs it. */
    private readonly detectRuntime: () => Promise<DetectedRuntime>,
  ) {
    this.conversations = new Conversations(home, (group) => historyLimits(config, group));
    this.warm = new WarmPool({
      start: (group) => this.startWarm(group),
      discard: (w) => this.discardWarm(w),
      log: (m) => logLine(m, { level: "warn" }),
      idleMs: WARM_IDLE_MS,
      maxAgeMs: WARM_MAX_AGE_MS,
    });
    this.unsubscribe = core.events.onEvent(
      (envelope) => {
        if (envelope.topic === "task.triggered") this.accept(envelope.payload as Task);
        else if (envelope.topic === "message.inbound")
          this.acceptInbound(envelope.group, envelope.source, envelope.payload);
      },
      (topic) => topic === "task.triggered" || topic === "message.inbound",
    );
  }

  /** `carapace prompt`: publishes task.triggered (the manager is its consumer) and returns the task id. */
  trigger(group: string, prompt: string, watch?: (u: TaskUpdate) => void): string {
    const task: Task = { id: randomBytes(8).toString("hex"), group, prompt, origin: "cli" };
    if (watch) this.watch(task.id, watch);
    this.core.events.publish(mintIdentity(`task-${task.id}`, group, "cli"), "task.triggered", task);
    return task.id;
  }

  /**
   * A message from the owner on the host that continues a conversation (`carapace chat`, `prompt
   * --conversation`): resolved now, so an unknown id is refused before any container starts.
   */
  converse(
    group: string,
    text: string,
    choice: ConversationChoice,
    watch?: (u: TaskUpdate) => void,
  ): { task: string; conversation: string } {
    const at = this.conversations.resolve(group, choice);
    const task: Task = {
      id: randomBytes(8).toString("hex"),
      group,
      prompt: text,
      origin: "cli",
      conversation: { at, sender: { kind: "owner", via: "cli" } },
    };
    if (watch) this.watch(task.id, watch);
    this.core.events.publish(mintIdentity(`task-${task.id}`, group, "cli"), "task.triggered", task);
    return { task: task.id, conversation: at.id };
  }

  watch(taskId: string, fn: (u: TaskUpdate) => void): () => void {
    let set = this.watchers.get(taskId);
    if (!set) {
      set = new Set();
      this.watchers.set(taskId, set);
    }
    set.add(fn);
    return () => set?.delete(fn);
  }

  private tell(taskId: string, update: TaskUpdate): void {
    for (const fn of this.watchers.get(taskId) ?? []) fn(update);
    if (update.kind === "done") this.watchers.delete(taskId);
  }

  /** Who follows the turns of messages it routed (the channel router): a watcher for a reply_to it knows. */
  followInbound(route: (replyTo: unknown) => ((u: TaskUpdate) => void) | undefined): void {
    this.inboundRoutes = route;
  }

  private acceptInbound(group: string, source: string, payload: unknown): void {
    const p = (payload ?? {}) as { text?: unknown; reply_to?: unknown };
    // A group is configured by its own [groups.<name>] table or by a chat bound to it in [channels].
    const bound = Object.values(this.config.channels).some((c) =>
      Object.values(c.chats ?? {}).some((chat) => chat.group === group),
    );
    if (!Object.hasOwn(this.config.groups, group) && !bound) {
      void this.core.audit.appendEvent({
        kind: "event",
        outcome: "rejected",
        group: null,
        topic: "message.inbound",
        detail: { reason: "no configured group", group },
      });
      return;
    }
    if (typeof p.text !== "string" || p.text.length === 0) return;
    const task: Task = {
      id: randomBytes(8).toString("hex"),
      group,
      prompt: p.text,
      origin: "channel",
      replyTo: p.reply_to,
    };
    try {
      const inbound = inboundConversation(source, payload);
      task.conversation = {
        at: inbound.choice
          ? this.conversations.resolve(group, inbound.choice)
          : this.conversations.oneShot(group, inbound.channel),
        sender: inbound.sender,
        ...(inbound.chat !== undefined ? { chat: inbound.chat } : {}),
      };
    } catch (e) {
      void this.core.audit.appendEvent({
        kind: "event",
        outcome: "rejected",
        group,
        topic: "message.inbound",
        detail: { reason: (e as Error).message },
      });
      return;
    }
    const follow = this.inboundRoutes?.(p.reply_to);
    if (follow) this.watch(task.id, follow);
    this.accept(task);
  }

  private accept(task: Task): void {
    if (this.stopped) return;
    const max = limitsFromConfig(this.config, task.group).maxSessionsPerGroup;
    const policy = groupSettings(this.config, task.group).policy;
    const busy = this.running.get(task.group) ?? 0;
    if (busy > 0 && policy === "reject") {
      this.finish(task, false, "", "a session is already running for this group (policy: reject)");
    } else if ((busy > 0 && policy === "queue") || busy >= max) {
      this.enqueue(task);
    } else {
      void this.run(task);
    }
  }

  private enqueue(task: Task): void {
    const q = this.queues.get(task.group) ?? [];
    q.push(task);
    this.queues.set(task.group, q);
    this.tell(task.id, { kind: "state", state: "queued" });
  }

  private next(group: string): void {
    const task = this.queues.get(group)?.shift();
    if (task) void this.run(task);
  }

  private finish(task: Task, ok: boolean, answer: string, error?: string): void {
    const conversation = task.conversation?.at.id;
    this.tell(task.id, {
      kind: "done",
      ok,
      answer,
      ...(error ? { error } : {}),
      ...(conversation ? { conversation } : {}),
    });
  }

  private async ensureRuntime(): Promise<DetectedRuntime & { lifecycle: ContainerLifecycle }> {
    this.runtime ??= this.detectRuntime().then((d) => {
      const lifecycle = new ContainerLifecycle(d.runtime, {
        log: (level, m) => logLine(m, { component: "CONTAINER", level: level === "warn" ? "warn" : "info" }),
      });
      this.lifecycle = lifecycle;
      return { ...d, lifecycle };
    });
    return this.runtime;
  }

  /** The pre-started containers, for `carapace status`. */
  warmContainers(): WarmView[] {
    return this.warm.list();
  }

  /** `[runtime] prestart`: a warm container for each group configured by a [groups.<name>] table. */
  prestartConfiguredGroups(): void {
    if (!this.config.runtime.prestart || this.stopped) return;
    for (const group of Object.keys(this.config.groups)) this.warm.refill(group);
  }

  /**
   * A pre-started container locked down exactly as a cold session of `group` would be now, with no
   * session: an empty socket directory, empty inputs, and stdin held with nothing written.
   */
  private async startWarm(group: string): Promise<WarmContainer> {
    const { info, runtime, lifecycle } = await this.ensureRuntime();
    const image = await this.agentImage(runtime, info);
    const user = agentUser(info);
    const sessionId = randomBytes(16).toString("hex");
    this.liveSessions.add(sessionId);
    try {
      if (this.stopped) throw new Error("the core is stopping");
      const { dir: sessionDir } = provisionSessionDir(this.home, sessionId, user);
      const files = reserveSessionFiles(this.home, sessionId, group, user);
      const spec = this.runSpec(group, sessionId, sessionDir, image, files, user, true);
      const sink: WarmContainer["sink"] = {};
      const container = lifecycle.spawn(spec, {
        hold: true,
        onStdout: (chunk) => sink.stdout?.(chunk),
        onStderr: (chunk) =>
          sink.stderr ? sink.stderr(chunk) : logLine(chunk, { component: `warm ${sessionId.slice(0, 8)}` }),
      });
      return { group, sessionId, sessionDir, files, user, spec, container, sink, startedAt: Date.now() };
    } catch (e) {
      this.removeReserved(sessionId);
      throw e;
    }
  }

  /**
   * The group's warm container, if it is still exactly what a cold session would run now (the image, the
   * limits and the mounts all compared through the whole run specification); otherwise it is ended.
   */
  private async claimWarm(
    group: string,
    image: { id: string },
    user: string,
    credential: StoredAnthropicCredential | null,
  ): Promise<WarmContainer | null> {
    if (!this.config.runtime.prestart) return null;
    const warm = await this.warm.take(group);
    if (!warm) return null;
    // Taken out of the pool, it is this session's: whatever refuses it below ends it, never leaves it waiting.
    let refusal: string;
    try {
      const now = this.runSpec(group, warm.sessionId, warm.sessionDir, image, warm.files, user, true);
      if (!warm.container.alive()) refusal = "has exited";
      // Its Claude Code is running already: an OAuth token (which Claude Code reads only as it starts) cannot reach it.
      else if (credential?.kind !== "api-key") refusal = "takes only an API key credential";
      else if (warm.group === group && warm.user === user && Bun.deepEquals(now, warm.spec, true)) return warm;
      else refusal = "no longer matches its configuration";
    } catch (e) {
      refusal = `cannot be claimed (${(e as Error).message})`;
    }
    logLine(`[AGENT] the pre-started container of group ${group} ${refusal}; ending it, the session runs cold`);
    this.warm.end(warm);
    return null;
  }

  private discardWarm(warm: WarmContainer): void {
    this.removeReserved(warm.sessionId);
  }

  private removeReserved(sessionId: string): void {
    try {
      removeSessionDir(this.home, sessionId);
      removeSessionFiles(this.home, sessionId);
      this.liveSessions.delete(sessionId);
    } catch (e) {
      logLine(`[AGENT] Warning: pre-started container files ${sessionId} not removed: ${(e as Error).message}`);
    }
  }

  /** See `cleanupOrphans`: until it has run, a container started outside this core would be taken for an orphan. */
  orphansSwept(): boolean {
    return this.swept;
  }

  /** Removes containers and files a crashed host left behind (the containers first: they wrote the files). */
  async cleanupOrphans(): Promise<string[]> {
    try {
      return await this.sweepOrphans();
    } finally {
      this.swept = true;
    }
  }

  private async sweepOrphans(): Promise<string[]> {
    try {
      this.conversations.abandonRunning();
    } catch (e) {
      logLine(`[AGENT] Warning: unfinished conversation turns not closed: ${(e as Error).message}`);
    }
    // The files go even when no container runtime is reachable: they hold a crashed session's prompt and brief.
    try {
      removeStaleSessionFiles(this.home, this.liveSessions);
    } catch (e) {
      logLine(`[AGENT] Warning: stale session files not removed: ${(e as Error).message}`);
    }
    try {
      await this.ensureRuntime();
      return (await this.lifecycle?.cleanupOrphans(instanceId(this.home))) ?? [];
    } catch {
      return [];
    }
  }

  /** One task as a session: each step below, then everything it set up released (also when a step throws). */
  private async run(task: Task): Promise<void> {
    this.running.set(task.group, (this.running.get(task.group) ?? 0) + 1);
    const run: SessionRun = { task, session: null, turn: null, answer: "", failure: undefined, releases: [] };
    try {
      const { info, runtime, lifecycle } = await this.ensureRuntime();
      const image = await this.agentImage(runtime, info);
      const user = agentUser(info);
      // Read once: the claim's check of its kind and what the container is handed must be the same credential.
      const credential = readAnthropicCredential(this.home);
      const warm = await this.claimWarm(task.group, image, user, credential);
      let claimed = false;
      // Ended, never left waiting, if the run fails before the claim hands it the credential.
      if (warm) run.releases.push(() => claimed || this.warm.end(warm));
      const session = this.openSession(run, user, warm);
      const files = await this.sessionFiles(run, session, user, warm);
      if (!credential) {
        throw new Error(
          "[AUTH] Error: no Anthropic credential is stored. Fix: run `carapace auth api-key` (or `carapace auth login`).",
        );
      }
      // The container only ever holds this per-session token; the proxy swaps in the real credential.
      const token = randomBytes(24).toString("hex");
      await this.startEgress(run, session, user, token);
      this.forwardConfirmations(run, session);
      const output = this.agentOutput(run, session);
      const io = {
        onStdout: (chunk: string) => output.push(chunk),
        onStderr: (chunk: string) => logLine(chunk, { component: `agent ${session.id.slice(0, 8)}` }),
      };
      const stdin = `${credential.containerEnv}\n${token}\n`;
      // Checked and spawned in one step: a container started after the stop's stopAll would outlive the core.
      if (this.stopped)
        throw new Error(
          "[AGENT] Error: the core stopped before this session's container started. Fix: run the task again once the core is running.",
        );
      let container: AgentContainer;
      if (warm) {
        // The claim: its output goes to this session, then the credential is the first thing it reads.
        warm.sink.stdout = io.onStdout;
        warm.sink.stderr = io.onStderr;
        warm.container.release(stdin);
        claimed = true;
        container = warm.container;
      } else {
        const spec = this.runSpec(task.group, session.id, dirname(session.socketPath), image, files, user);
        container = lifecycle.spawn(spec, { stdin, ...io });
      }
      await this.awaitAgent(run, session, container, output);
    } catch (e) {
      run.failure = (e as Error).message;
      this.core.events.publish(mintIdentity(run.session?.id ?? `task-${task.id}`, task.group, "agent"), "agent.error", {
        task: task.id,
        message: run.failure,
        ...this.replyRoute(task),
      });
    } finally {
      await this.release(run);
    }
  }

  /** The image a session runs: limits enforced, the image current, its pinned digest (pinned now on first use). */
  private async agentImage(runtime: ContainerRuntime, info: RuntimeInfo): Promise<{ id: string }> {
    assertLimitsEnforced(info, this.config.runtime.allow_rootless_unlimited);
    // Image pinning: run the pinned digest, never whatever the tag points at now.
    const image = await sessionImage(this.home, runtime, this.config.runtime.image);
    if (image.pinned === "first-use") {
      await this.core.audit.append({
        kind: "event",
        outcome: "info",
        group: null,
        topic: "image.pinned",
        detail: { tag: this.config.runtime.image, id: image.id, how: "first-use" },
      });
    }
    return image;
  }

  /** The session's socket, handed to the agent user; closed with its files when the run ends. */
  private openSession(run: SessionRun, user: string, warm: WarmContainer | null): OpenedSession {
    const session = this.core.sessions.open(run.task.group, "agent", user, warm?.sessionId);
    run.session = session;
    this.liveSessions.add(session.id);
    run.releases.push(() => {
      this.core.sessions.close(session.id);
      try {
        removeSessionFiles(this.home, session.id);
        this.liveSessions.delete(session.id);
      } catch (e) {
        // What the agent left there must not take the core down; the start-up sweep retries.
        logLine(`[AGENT] Warning: session ${session.id} files not removed: ${(e as Error).message}`);
      }
    });
    return session;
  }

  /** The prompt, CLAUDE.md (with the brief and the tools) and skills, made before the container starts, read-only inside it. */
  private async sessionFiles(
    run: SessionRun,
    session: OpenedSession,
    user: string,
    warm: WarmContainer | null,
  ): Promise<SessionFiles> {
    const task = run.task;
    // Asked of the plugins that offer one (the memory plugin), each within the budget.
    const brief = await this.core.briefing.brief(task.group, BRIEF_BUDGET_MS).catch(() => null);
    const tools = this.core.briefing.tools(task.group);
    // A conversation's turn is recorded now and its prompt rendered from the host's record of the turns before.
    run.turn = task.conversation
      ? this.conversations.begin(task.conversation.at, task.conversation.sender, task.prompt)
      : null;
    const files = warm?.files ?? reserveSessionFiles(this.home, session.id, task.group, user);
    const prompt = run.turn?.prompt ?? task.prompt;
    const memory = claudeMd(task.group, brief, tools);
    // A pre-started Claude Code read its (empty) CLAUDE.md as it started: the memory travels in its message.
    writeSessionInputs(files, {
      prompt: warm ? prestartedMessage(prompt, memory) : prompt,
      claudeMd: warm ? "" : memory,
      skills: this.core.briefing.skills(task.group),
    });
    return files;
  }

  /** The session's only way to the model: a proxy on a socket in its directory that holds the real credential. */
  private async startEgress(run: SessionRun, session: OpenedSession, user: string, token: string): Promise<void> {
    const group = run.task.group;
    const egressPath = join(dirname(session.socketPath), "egress.sock");
    await this.ledger.prepare(group);
    const proxy = await startEgressProxy({
      socketPath: egressPath,
      token,
      upstream: this.config.network.upstream_url,
      allowlist: this.config.network.upstream_allowlist,
      credential: async () => readAnthropicCredential(this.home),
      budget: sessionBudget(group, budgetsFor(this.config, group), this.ledger),
      onAudit: (e) => {
        void this.core.audit.appendEvent({
          kind: "egress",
          outcome: e.outcome === "forwarded" ? "ok" : "rejected",
          group,
          session: session.id,
          topic: `egress ${e.method} ${e.path}`,
          detail: e,
        });
      },
    });
    run.releases.push(() => proxy.close().catch(() => {}));
    grantSocketToAgent(egressPath, user);
  }

  /** Tells the task's watchers of each confirmation its session waits for, until the run ends. */
  private forwardConfirmations(run: SessionRun, session: OpenedSession): void {
    const unsubscribe = this.core.approvals.subscribe((p, state) => {
      if (p.session === session.id && state === "pending")
        this.tell(run.task.id, {
          kind: "confirmation",
          id: p.id,
          tool: p.tool,
          summary: p.summary,
          fields: p.fields,
          request_hash: p.request_hash,
        });
    });
    run.releases.push(unsubscribe);
  }

  /** The agent's stream-json: each event sanitized, published as response.*, told to the watchers. */
  private agentOutput(run: SessionRun, session: OpenedSession): LineSplitter {
    return new LineSplitter((line) => {
      for (const event of eventsFromLine(line)) {
        const clean = { ...event, payload: sanitize(event.payload).value } as AgentEvent;
        if (clean.topic === "response.end") run.answer = clean.payload.result;
        if (clean.topic === "response.error") run.failure = clean.payload.message;
        this.core.events.publish(session.identity, clean.topic, { task: run.task.id, ...clean.payload });
        this.tell(run.task.id, { kind: "event", event: clean });
      }
    });
  }

  private runSpec(
    group: string,
    sessionId: string,
    sessionDir: string,
    image: { id: string },
    files: SessionFiles,
    user: string,
    prestarted = false,
  ): RunSpec {
    return agentRunSpec({
      name: `carapace-${sessionId.slice(0, 16)}`,
      image: image.id,
      instance: instanceId(this.home),
      sessionId,
      group,
      sessionDir,
      workspaceDir: files.workspaceDir,
      claudeStateDir: files.claudeStateDir,
      skillsDir: files.skillsDir,
      claudeMdFile: files.claudeMdFile,
      promptFile: files.promptFile,
      user,
      // Claude Code retries refused API calls for minutes by default; a refusal here is final.
      env: { CLAUDE_CODE_MAX_RETRIES: "2" },
      prestarted,
    });
  }

  /** Waits for the container (stopped after the task timeout), then publishes how the task ended. */
  private async awaitAgent(
    run: SessionRun,
    session: OpenedSession,
    container: AgentContainer,
    output: LineSplitter,
  ): Promise<void> {
    const task = run.task;
    this.core.events.publish(session.identity, "agent.started", { task: task.id, container: container.name });
    this.tell(task.id, { kind: "state", state: "started" });
    const timer = setTimeout(() => void container.stop(), TASK_TIMEOUT_MS);
    run.releases.push(() => clearTimeout(timer));
    const exit = await container.exited;
    output.end();
    if (exit.code !== 0 && !run.failure)
      run.failure = `the agent exited with code ${exit.code}${exit.stderrTail ? `: ${exit.stderrTail.trim().split("\n").slice(-2).join(" ")}` : ""}`;
    if (run.failure)
      this.core.events.publish(session.identity, "agent.error", {
        task: task.id,
        message: run.failure,
        ...this.replyRoute(task),
      });
    else
      this.core.events.publish(session.identity, "agent.completed", {
        task: task.id,
        answer: run.answer,
        ...this.replyRoute(task),
      });
  }

  /** Releases what the run set up, newest first; then the turn's answer, the group's slot, the watchers' answer, the next task. */
  private async release(run: SessionRun): Promise<void> {
    for (const release of run.releases.reverse()) await release();
    const { task, failure } = run;
    this.recordAnswer(run.turn, !failure, run.answer);
    this.running.set(task.group, Math.max(0, (this.running.get(task.group) ?? 1) - 1));
    // The group is active: its next session finds a fresh container started (this one is gone for good).
    if (this.config.runtime.prestart && !this.stopped) this.warm.refill(task.group);
    this.finish(task, !failure, run.answer, (sanitize(failure ?? "").value as string) || undefined);
    this.next(task.group);
  }

  /** Where a channel sends the answer: what it passed as reply_to, its chat and the conversation. */
  private replyRoute(task: Task): { reply_to: unknown; conversation: string | null; chat: string | null } {
    return {
      reply_to: task.replyTo ?? null,
      conversation: task.conversation?.at.id ?? null,
      chat: task.conversation?.chat ?? null,
    };
  }

  private recordAnswer(turn: BegunTurn | null, ok: boolean, answer: string): void {
    if (!turn) return;
    try {
      this.conversations.finish(turn, { ok, answer });
    } catch (e) {
      logLine(`[CONVERSATION] Warning: the answer of turn ${turn.turn.seq} was not recorded: ${(e as Error).message}`);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe();
    await this.warm.stop();
    for (const [group, q] of this.queues)
      for (const t of q.splice(0)) this.finish(t, false, "", `the core stopped before group ${group} ran this task`);
    await this.lifecycle?.stopAll();
  }
}
