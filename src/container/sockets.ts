/**
 * Per-session socket directories under `<home>/run/sockets/<sessionId>` (0700). The directory, not the
 * socket file, is bind-mounted into the container, so a socket re-created by the host stays visible.
 * Symlinks are refused everywhere on the path we manage, and Unix-socket paths are checked against the
 * kernel's 108-byte limit (sun_path, including the terminating NUL) before anything binds.
 */
import { chmodSync, lstatSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { homePath } from "../config/home.ts";
import { grantDirToAgent, removeAgentTree } from "./agent-tree.ts";
import { ContainerError } from "./errors.ts";
import { REQUEST_SOCKET_NAME } from "./paths.ts";

/** sizeof(sockaddr_un.sun_path) on Linux, including the terminating NUL. */
export const UNIX_SOCKET_PATH_MAX = 108;
const SESSION_ID = /^[A-Za-z0-9_-]{1,64}$/;

export interface SessionDir {
  dir: string;
  requestSocketPath: string;
}

export function socketsRoot(home: string): string {
  return homePath(home, "run/sockets");
}

export function assertSocketPathFits(path: string): void {
  const bytes = Buffer.byteLength(path) + 1;
  if (bytes > UNIX_SOCKET_PATH_MAX) {
    throw new ContainerError(
      `the Unix socket path ${path} is ${bytes} bytes with its terminating NUL, over the ${UNIX_SOCKET_PATH_MAX}-byte limit`,
      "use a shorter CARAPACE_HOME (e.g. ~/.carapace) so run/sockets/<session>/request.sock fits",
    );
  }
}

function assertSessionId(sessionId: string): void {
  if (!SESSION_ID.test(sessionId)) {
    throw new ContainerError(
      `session id "${sessionId}" is not a safe directory name`,
      "use [A-Za-z0-9_-], at most 64 characters",
    );
  }
}

/** Creates dir (0700) if missing; refuses a symlink or non-directory in its place. */
function ensurePrivateDir(dir: string): void {
  let st: ReturnType<typeof lstatSync> | undefined;
  try {
    st = lstatSync(dir);
  } catch {
    mkdirSync(dir, { mode: 0o700 });
    chmodSync(dir, 0o700);
    return;
  }
  if (st.isSymbolicLink()) {
    throw new ContainerError(`${dir} is a symlink`, `remove it; carapace creates ${dir} itself as a private directory`);
  }
  if (!st.isDirectory()) throw new ContainerError(`${dir} is not a directory`, `remove it and start again`);
  if ((st.mode & 0o777) !== 0o700) chmodSync(dir, 0o700);
}

function ensureSocketsRoot(home: string): string {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  ensurePrivateDir(homePath(home, "run"));
  const root = socketsRoot(home);
  ensurePrivateDir(root);
  return root;
}

/**
 * Makes a fresh, private directory for one session's sockets. `agentUser` ("uid:gid") hands the
 * directory to the container's uid when the host runs as root, so the agent can reach the socket;
 * call grantSocketToAgent(requestSocketPath, agentUser) after binding the socket, for the same reason.
 */
export function provisionSessionDir(home: string, sessionId: string, agentUser?: string): SessionDir {
  assertSessionId(sessionId);
  const root = ensureSocketsRoot(home);
  const dir = join(root, sessionId);
  const requestSocketPath = join(dir, REQUEST_SOCKET_NAME);
  assertSocketPathFits(requestSocketPath);
  removeAgentTree(dir);
  mkdirSync(dir, { mode: 0o700 });
  chmodSync(dir, 0o700);
  if (agentUser) grantDirToAgent(dir, agentUser);
  return { dir, requestSocketPath };
}

/**
 * The directory a pre-started container was given at provisioning, taken over by the session that claims
 * it: refused unless it is still a real, empty directory (nothing may have been put there before the claim).
 */
export function claimSessionDir(home: string, sessionId: string): SessionDir {
  assertSessionId(sessionId);
  const dir = join(socketsRoot(home), sessionId);
  const requestSocketPath = join(dir, REQUEST_SOCKET_NAME);
  assertSocketPathFits(requestSocketPath);
  let st: ReturnType<typeof lstatSync>;
  try {
    st = lstatSync(dir);
  } catch {
    throw new ContainerError(`the reserved session directory ${dir} does not exist`, "start the session afresh");
  }
  if (st.isSymbolicLink() || !st.isDirectory())
    throw new ContainerError(`the reserved session directory ${dir} is not a directory`, "start the session afresh");
  if (readdirSync(dir).length > 0)
    throw new ContainerError(`the reserved session directory ${dir} is not empty`, "start the session afresh");
  return { dir, requestSocketPath };
}

/** Removes a session's directory and everything its agent put there (links are unlinked, never followed). */
export function removeSessionDir(home: string, sessionId: string): void {
  assertSessionId(sessionId);
  removeAgentTree(join(socketsRoot(home), sessionId));
}

/** At start-up: removes the directories of sessions that are not live (left by a crashed host). */
export function cleanStaleSessionDirs(home: string, liveIds: Iterable<string> = []): string[] {
  const root = ensureSocketsRoot(home);
  const live = new Set(liveIds);
  const removed: string[] = [];
  for (const entry of readdirSync(root)) {
    if (live.has(entry)) continue;
    removeAgentTree(join(root, entry));
    removed.push(entry);
  }
  return removed;
}
