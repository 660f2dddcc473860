import { randomBytes } from "node:crypto";
import { grantSocketToAgent } from "../container/agent-tree.ts";
import { claimSessionDir, provisionSessionDir, removeSessionDir } from "../container/sockets.ts";
import { mintIdentity, type SessionIdentity } from "../protocol/envelope.ts";
import { GROUP_NAME } from "../protocol/group-name.ts";
import { GuardedRouter, type GuardLimits } from "../transport/guarded-router.ts";
import type { CallAbort } from "./pipeline/context.ts";
import { ReplyCache } from "./reply-cache.ts";

export interface Session {
  readonly id: string;
  readonly identity: SessionIdentity;
  readonly socketPath: string;
  readonly openedAt: number;
  readonly replies: ReplyCache;
  /** One controller per running call (never keyed by correlation: a reissued one would replace a running call). */
  readonly inflight: Set<CallAbort>;
  readonly ended: AbortController;
  router: GuardedRouter | null;
}

export type FrameHandler = (session: Session, peer: Uint8Array, frames: Uint8Array[], overflow: boolean) => void;
/** A peer of the session socket was disconnected for breaking the protocol or a size limit. */
export type ViolationHandler = (session: Session, reason: string) => void;

/**
 * What one session socket buffers for its peers. A frame may be 4× the request frame limit (+1 KiB) so the
 * frame-size check can answer an oversized request with VALIDATION_FAILED; one message is a delimiter and
 * one frame (8 frames allowed, so a malformed message is still answered by a "dropped" audit record);
 * past these, or with more than 128 connections or 4 messages' worth of unfinished bytes, a peer is cut off.
 * Held at most: 4 messages in the intake (what is still on its way waits in the kernel's socket buffers);
 * a peer that leaves 32 writes of replies untaken is cut off rather than have the core queue more, and so
 * is one whose reply would queue past 64 MiB untaken across the session (128 peers × 32 replies of 1 MiB
 * would be 4 GiB).
 */
export function sessionGuardLimits(maxRequestBytes: number): GuardLimits {
  const maxFrameBytes = maxRequestBytes * 4 + 1024;
  const maxMessageBytes = maxFrameBytes + 8 * 1024;
  return {
    maxFrameBytes,
    maxMessageBytes,
    maxFrames: 8,
    maxPeers: 128,
    maxBufferedBytes: 4 * maxMessageBytes,
    replyHighWater: 32,
    maxUnsentBytes: 64 * 1024 * 1024,
  };
}

/**
 * Sessions are created and ended only here. Each gets an unguessable id and its own request socket
 * (`run/sockets/<id>/request.sock`): the socket a message arrives on is its identity, so a container
 * can neither claim another group nor even address another session's socket.
 */
export class SessionRegistry {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly home: string,
    private readonly onFrame: FrameHandler,
    private readonly socketOptions: { maxMessageBytes: number; replyCacheSize: number },
    private readonly onViolation: ViolationHandler = () => {},
  ) {}

  /**
   * `reserved`: the id whose directory was provisioned for a pre-started container; the session takes
   * that directory over (it must still be empty) and its identity is bound only now.
   */
  open(group: string, source: string, agentUser?: string, reserved?: string): Session {
    if (!GROUP_NAME.test(group)) {
      throw new Error(
        `[SESSION] Error: invalid group name "${group}". Fix: use lowercase [a-z0-9_-], at most 32 characters.`,
      );
    }
    // Hex, never base64url: an id starting with "-" would read as a CLI flag.
    if (reserved !== undefined && this.sessions.has(reserved))
      throw new Error(`[SESSION] Error: session ${reserved} is already open. Fix: start the session afresh.`);
    const id = reserved ?? randomBytes(16).toString("hex");
    const dir = reserved !== undefined ? claimSessionDir(this.home, id) : provisionSessionDir(this.home, id, agentUser);
    const session: Session = {
      id,
      identity: mintIdentity(id, group, source),
      socketPath: dir.requestSocketPath,
      openedAt: Date.now(),
      replies: new ReplyCache(this.socketOptions.replyCacheSize),
      inflight: new Set(),
      ended: new AbortController(),
      router: null,
    };
    try {
      session.router = new GuardedRouter(
        `ipc://${dir.requestSocketPath}`,
        (peer, frames, overflow) => this.onFrame(session, peer, frames, overflow),
        (_peer, reason) => this.onViolation(session, reason),
        sessionGuardLimits(this.socketOptions.maxMessageBytes),
      );
      if (agentUser) grantSocketToAgent(dir.requestSocketPath, agentUser);
    } catch (e) {
      // A socket swapped before it was handed over, say: nothing of the session may outlive its refusal.
      session.router?.close();
      removeSessionDir(this.home, id);
      throw e;
    }
    this.sessions.set(id, session);
    return session;
  }

  get(id: string): Session | undefined {
    return this.sessions.get(id);
  }

  list(): Session[] {
    return [...this.sessions.values()];
  }

  countForGroup(group: string): number {
    return this.list().filter((s) => s.identity.group === group).length;
  }

  /** Ends a session: cancels its pending calls, closes and removes its socket. */
  close(id: string): Session | undefined {
    const session = this.sessions.get(id);
    if (!session) return undefined;
    this.sessions.delete(id);
    session.ended.abort();
    for (const c of session.inflight) c.abort();
    session.router?.close();
    session.router = null;
    removeSessionDir(this.home, id);
    return session;
  }

  closeAll(): void {
    for (const id of [...this.sessions.keys()]) this.close(id);
  }
}
