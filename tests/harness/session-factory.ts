import { ReplyCache } from "../../src/core/reply-cache.ts";
import { type FrameHandler, type Session, SessionRegistry } from "../../src/core/sessions.ts";
import { DEFAULT_LIMITS } from "../../src/protocol/limits.ts";
import { tempHome } from "./core.ts";
import { identity } from "./factories.ts";

/**
 * A Session for unit tests of code that reads one (the pipeline, the call runner): no socket, no
 * directory. The identity is minted like the registry does; `group` and `id` override it.
 */
export function session(options: { group?: string; id?: string; source?: string } & Partial<Session> = {}): Session {
  const { group = "test", id = "0123456789abcdef0123456789abcdef", source = "test", ...rest } = options;
  return {
    id,
    identity: identity(group, id, source),
    socketPath: `/nonexistent/sockets/${id}/request.sock`,
    openedAt: Date.now(),
    replies: new ReplyCache(DEFAULT_LIMITS.replyCacheSize),
    inflight: new Set(),
    ended: new AbortController(),
    router: null,
    ...rest,
  };
}

/**
 * A real SessionRegistry in a temp home: `open` creates a real session socket. Frames arriving on any
 * session are recorded in `frames` (or passed to `onFrame`). `close` ends every session.
 */
export function sessionRegistry(options: { home?: string; onFrame?: FrameHandler } = {}) {
  const home = options.home ?? tempHome();
  const frames: { session: Session; frames: Uint8Array[] }[] = [];
  const onFrame: FrameHandler = options.onFrame ?? ((s, _peer, f) => frames.push({ session: s, frames: f }));
  const registry = new SessionRegistry(home, onFrame, {
    maxMessageBytes: DEFAULT_LIMITS.maxFrameBytes,
    replyCacheSize: DEFAULT_LIMITS.replyCacheSize,
  });
  return { home, registry, frames, close: () => registry.closeAll() };
}
