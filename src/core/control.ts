import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { CARAPACE_VERSION } from "../config/version.ts";
import { AGENT_USER } from "../container/paths.ts";
import { fixOf, UserError, whatOf } from "../errors/user-error.ts";
import { GROUP_NAME } from "../protocol/group-name.ts";
import type { PeerCredentials } from "../transport/socket.ts";
import { RouterSocket } from "../transport/sockets.ts";
import type { Approver } from "./confirmations.ts";
import type { ControlServices } from "./core-services.ts";
import { stripTerminalEscapes } from "./response/terminal-text.ts";
import type { Scheduler } from "./tasks/scheduler.ts";
import { taskControl } from "./tasks/task-control.ts";

export interface ControlRequest {
  id: string;
  cmd: string;
  args?: Record<string, unknown>;
}
export type ControlReply =
  | { id: string; ok: true; result: unknown }
  | { id: string; ok: false; error: { component: string; message: string; fix: string } };

const decoder = new TextDecoder();

export function controlSocketPath(home: string): string {
  return join(home, "run/control.sock");
}

/**
 * What the control socket needs of the agent manager (which sits above the core): start a task and
 * follow its updates until the one of kind "done".
 */
export interface TaskRunner {
  /**
   * The owner's message in a conversation: `{ id }` continues one of the group's open conversations
   * (throws when there is none with that id), `{ key, fresh: true }` starts one.
   */
  converse(
    group: string,
    text: string,
    choice: { readonly id: string } | { readonly key: string; readonly fresh?: boolean },
    watch?: (update: { readonly kind: string }) => void,
  ): { task: string; conversation: string };
  /** The pre-started containers waiting for a session, one per active group at most. */
  warmContainers(): { group: string; container: string; state: string; since: number }[];
  /** Whether the start-up sweep of orphaned containers and session files has run (it removes what it does not know). */
  orphansSwept(): boolean;
}

/** What the control socket needs of the channel router (agent layer): `carapace channel …`. */
export interface ChannelControl {
  names(): string[];
  status(channel: string): { enabled: boolean } & Record<string, unknown>;
  pair(channel: string): unknown;
  unpair(channel: string): unknown;
}

class ControlError extends Error {
  constructor(
    readonly component: string,
    message: string,
    readonly fix: string,
  ) {
    super(message);
  }
}

const CALLER_HEARTBEAT_MS = 2_000;
const CONVERSATION_ID = /^[0-9a-f]{20}$/;

function answerError(reason: "unknown" | "caller_gone" | "hash_mismatch"): ControlError {
  if (reason === "caller_gone")
    return new ControlError(
      "APPROVALS",
      "the caller of this call is gone, so the call was cancelled and will not run",
      "nothing to do; the agent may ask again",
    );
  if (reason === "hash_mismatch")
    return new ControlError(
      "APPROVALS",
      "the request hash does not match this confirmation",
      "check `carapace approvals show <id>` and pass the hash it prints",
    );
  return new ControlError("APPROVALS", "no pending confirmation with that id", "list them with `carapace approvals`");
}

/**
 * The operator's channel ($CARAPACE_HOME/run/control.sock, 0600, never mounted into a container).
 * Only the CLI on the host talks here; nothing is exchanged through polled files.
 */
/**
 * A session for a probe container (`carapace doctor --probe`) hands its socket to the container's user:
 * only the agent user a session could run as (Debian's nobody, or this core's own user under rootless
 * keep-id), never an arbitrary uid.
 */
function agentUserOf(requested: unknown): string | undefined {
  if (requested === undefined) return undefined;
  const allowed = [`${AGENT_USER.uid}:${AGENT_USER.gid}`, `${process.getuid?.()}:${process.getgid?.()}`];
  if (typeof requested === "string" && allowed.includes(requested)) return requested;
  throw new ControlError(
    "SESSION",
    `agent_user ${stripTerminalEscapes(String(requested))} is not a user an agent container runs as`,
    `pass ${allowed.join(" or ")}`,
  );
}

export class ControlChannel {
  private readonly router: RouterSocket;

  constructor(
    home: string,
    private readonly core: ControlServices,
    private readonly onStop: () => void,
    private readonly agents: TaskRunner | null = null,
    private readonly tasks: Scheduler | null = null,
    private readonly channels: ChannelControl | null = null,
  ) {
    this.router = new RouterSocket(
      `ipc://${controlSocketPath(home)}`,
      (peer, frames, _overflow, credentials) => void this.onMessage(peer, frames, credentials),
      {
        maxMessageBytes: 4 * 1024 * 1024,
        maxFrames: 4,
        peerCredentials: true,
      },
    );
  }

  private async onMessage(peer: Uint8Array, frames: Uint8Array[], credentials: PeerCredentials | null): Promise<void> {
    const body = frames[1];
    let req: ControlRequest;
    try {
      req = JSON.parse(decoder.decode(body)) as ControlRequest;
      if (typeof req.id !== "string" || typeof req.cmd !== "string") throw new Error("shape");
    } catch {
      return;
    }
    if (req.cmd === "prompt") return this.streamPrompt(peer, req);
    let reply: ControlReply;
    try {
      reply = { id: req.id, ok: true, result: await this.execute(req.cmd, req.args ?? {}, peer, credentials) };
    } catch (e) {
      const err =
        e instanceof ControlError
          ? e
          : e instanceof UserError
            ? new ControlError(e.component, e.what, e.fix)
            : new ControlError("CORE", whatOf(e), "see the core's log");
      reply = { id: req.id, ok: false, error: { component: err.component, message: err.message, fix: err.fix } };
    }
    this.router.send(peer, ["", JSON.stringify(reply)]);
  }

  /** The CLI at the other end is still connected (a `carapace call` killed while waiting is not). */
  private peerAlive(peer: Uint8Array): boolean {
    const outcome = this.router.send(peer, ["", JSON.stringify({ id: "heartbeat" })]);
    return outcome === "sent" || outcome === "again";
  }

  private async execute(
    cmd: string,
    args: Record<string, unknown>,
    peer: Uint8Array,
    credentials: PeerCredentials | null,
  ): Promise<unknown> {
    const s = this.core;
    switch (cmd) {
      case "status":
        return {
          running: true,
          pid: process.pid,
          version: CARAPACE_VERSION,
          ...s.status(),
          warm_containers: this.agents?.warmContainers() ?? [],
          orphans_swept: this.agents?.orphansSwept() ?? true,
        };
      case "stop":
        setTimeout(this.onStop, 10);
        return { stopping: true };
      case "audit.checkpoint": {
        const checkpoint = await s.checkpoint();
        return { written: checkpoint !== null, n: checkpoint?.n ?? s.checkpointCount() };
      }
      case "session.open": {
        const group = String(args.group ?? "default");
        if (!GROUP_NAME.test(group))
          throw new ControlError(
            "SESSION",
            `invalid group name "${stripTerminalEscapes(group)}"`,
            "use lowercase [a-z0-9_-], at most 32 characters",
          );
        const session = s.sessions.open(group, "cli", agentUserOf(args.agent_user));
        return { id: session.id, socket: session.socketPath, group };
      }
      case "session.close": {
        if (!s.sessions.close(String(args.id ?? "")))
          throw new ControlError("SESSION", "no such session", "list sessions with `carapace status`");
        return { closed: true };
      }
      case "call": {
        const group = String(args.group ?? "default");
        if (!GROUP_NAME.test(group)) throw new ControlError("CALL", "invalid group name", "use lowercase [a-z0-9_-]");
        // The caller is watched while its call runs: once it is gone, a pending approval is cancelled.
        const gone = new AbortController();
        const alive = () => !gone.signal.aborted && this.peerAlive(peer);
        const watch = setInterval(() => {
          if (!alive()) gone.abort();
        }, CALLER_HEARTBEAT_MS);
        try {
          return await s.callAsOperator(String(args.tool ?? ""), args.arguments ?? {}, group, {
            signal: gone.signal,
            alive,
          });
        } finally {
          clearInterval(watch);
        }
      }
      case "tools": {
        const group = String(args.group ?? "default");
        if (!GROUP_NAME.test(group)) throw new ControlError("TOOLS", "invalid group name", "use lowercase [a-z0-9_-]");
        return s.toolsFor(group).map((t) => ({
          name: t.name,
          description: t.description,
          risk_level: t.risk_level,
          plugin: t.plugin,
          available: t.available(),
        }));
      }
      case "mcp.status":
        return s.mcpServers();
      case "approvals": {
        s.approvals.pruneGone();
        const now = Date.now();
        return s.approvals.list().map((p) => ({
          ...p,
          age_s: Math.round((now - p.createdAt) / 1000),
          expires_in_s: Math.max(0, Math.round((p.expiresAt - now) / 1000)),
        }));
      }
      case "approvals.show": {
        s.approvals.pruneGone();
        const shown = s.approvals.show(String(args.id ?? ""));
        if (!shown)
          throw new ControlError(
            "APPROVALS",
            "no pending confirmation with that id",
            "list them with `carapace approvals`",
          );
        return shown;
      }
      case "approve":
      case "deny": {
        const approver: Approver = {
          channel: "cli",
          ...(credentials ? { uid: credentials.uid, pid: credentials.pid } : {}),
        };
        const hash = typeof args.hash === "string" ? args.hash.toLowerCase() : undefined;
        const outcome = s.approvals.answer(String(args.id ?? ""), cmd === "approve", approver, hash);
        if (!outcome.ok) throw answerError(outcome.reason);
        return { id: args.id, decision: outcome.decision, request_hash: outcome.confirmation.request_hash };
      }
      case "channel.list":
        return (this.channels?.names() ?? []).map((name) => this.channels?.status(name));
      case "channel.status":
      case "channel.pair":
      case "channel.unpair": {
        const name = String(args.channel ?? "");
        const known = this.channels?.names() ?? [];
        if (!known.includes(name))
          throw new ControlError(
            "CHANNEL",
            `no channel "${stripTerminalEscapes(name).slice(0, 32)}" is configured${known.length ? ` (configured: ${known.join(", ")})` : ""}`,
            `add [channels.${/^[a-z][a-z0-9_-]{0,31}$/.test(name) ? name : "telegram"}] enabled = true to config.toml and restart the core`,
          );
        const channels = this.channels as ChannelControl;
        if (cmd === "channel.status") return channels.status(name);
        if (cmd === "channel.unpair") return channels.unpair(name);
        if (!channels.status(name).enabled)
          throw new ControlError(
            "CHANNEL",
            `channel ${name} is not enabled`,
            `set [channels.${name}] enabled = true and restart the core`,
          );
        return channels.pair(name);
      }
      default:
        if (cmd.startsWith("task.") && this.tasks) return taskControl(this.tasks, cmd, args);
        throw new ControlError(
          "CONTROL",
          `unknown command ${stripTerminalEscapes(cmd)}`,
          "update the CLI and the core to the same version",
        );
    }
  }

  /** `prompt`: streams the task's updates as `{id, update}` frames, then the final reply. */
  private streamPrompt(peer: Uint8Array, req: ControlRequest): void {
    const args = req.args ?? {};
    const group = String(args.group ?? "default");
    const text = typeof args.text === "string" ? args.text : "";
    const fail = (component: string, message: string, fix: string) =>
      this.router.send(peer, [
        "",
        JSON.stringify({ id: req.id, ok: false, error: { component, message, fix } } satisfies ControlReply),
      ]);
    if (!this.agents)
      return void fail(
        "AGENT",
        "agent sessions are not available in this core",
        "start the core with `carapace start`",
      );
    if (!GROUP_NAME.test(group)) return void fail("AGENT", "invalid group name", "use lowercase [a-z0-9_-]");
    if (text.trim() === "" || text.length > 100_000)
      return void fail("AGENT", "the prompt is empty or longer than 100000 characters", "pass a prompt");
    const conversation = args.conversation;
    if (conversation !== undefined && (typeof conversation !== "string" || !CONVERSATION_ID.test(conversation)))
      return void fail(
        "CONVERSATION",
        "invalid conversation id",
        "pass the 20-character id `carapace chat` or `carapace prompt` printed",
      );
    // Without an id, the prompt is the first turn of a new host conversation that can be continued.
    const choice = conversation ? { id: conversation } : { key: `cli:${randomBytes(10).toString("hex")}`, fresh: true };
    try {
      const started = this.agents.converse(group, text, choice, (update) => {
        this.router.send(peer, ["", JSON.stringify({ id: req.id, update })]);
        if (update.kind === "done") {
          const reply: ControlReply = { id: req.id, ok: true, result: update };
          this.router.send(peer, ["", JSON.stringify(reply)]);
        }
      });
      this.router.send(peer, ["", JSON.stringify({ id: req.id, update: { kind: "conversation", ...started } })]);
    } catch (e) {
      fail("CONVERSATION", whatOf(e), fixOf(e, "check the conversation id and the group"));
    }
  }

  close(): void {
    this.router.close();
  }
}
