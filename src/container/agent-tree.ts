/**
 * Host-side file operations on trees the agent can write (its workspace, its per-session Claude state,
 * its session socket directory). Everything the agent can write is hostile input to the host
 * (docs/THREAT_MODEL.md): the host often runs as root, so a symlink or hard link planted there must
 * never make it change, read or delete a path outside the tree.
 *
 * - Directories are opened with O_DIRECTORY|O_NOFOLLOW and changed through the fd (fchown, fchmod).
 * - Walks (removal, disk usage) go fd-relative through /proc/self/fd/<fd>/<name>, so an entry swapped
 *   for a link mid-walk is met as the link itself, never followed; depth and entry counts are bounded.
 * - Files are read only when they are regular, have one link, and fit a size cap; FIFOs, devices and
 *   sockets are refused before they are opened.
 * Where /proc/self/fd is missing (macOS) walks fall back to full paths checked with lstat at each step.
 */
import { randomBytes } from "node:crypto";
import {
  closeSync,
  constants,
  type Dir,
  existsSync,
  fchmodSync,
  fchownSync,
  fstatSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  opendirSync,
  openSync,
  readSync,
  renameSync,
  rmdirSync,
  type Stats,
  unlinkSync,
} from "node:fs";
import { ContainerError } from "./errors.ts";

export type AgentTreeRefusal =
  | "symlink"
  | "not-directory"
  | "not-regular-file"
  | "hard-link"
  | "too-large"
  | "too-many-entries";

/** A refused operation on an agent-writable path; `refusal` says which rule refused it. */
export class AgentTreeError extends ContainerError {
  constructor(
    readonly refusal: AgentTreeRefusal,
    readonly path: string,
    what: string,
    fix: string,
  ) {
    super(what, fix);
  }
}

/** Deepest directory nesting a walk holds open (one fd a level); removal hoists deeper ones. */
export const MAX_TREE_DEPTH = 256;
/** Entries a disk-usage walk counts before it stops (the figure is then a lower bound). */
export const MAX_USAGE_ENTRIES = 1_000_000;

const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
const PROC_FD = "/proc/self/fd";
const procFd = existsSync(PROC_FD);

interface OpenDir {
  fd: number;
  /** Full path, for messages and for the fallback without /proc/self/fd. */
  path: string;
}

function childPath(dir: OpenDir, name: string): string {
  return procFd ? `${PROC_FD}/${dir.fd}/${name}` : `${dir.path}/${name}`;
}

/** One open directory of a walk: its fd, a streaming listing (a huge directory is never held whole). */
interface Frame {
  dir: OpenDir;
  listing: Dir;
  /** Names added while walking (hoisted deep directories), visited before the rest of the listing. */
  extra: string[];
  parent: OpenDir | null;
  name: string;
}

function openFrame(dir: OpenDir, parent: OpenDir | null, name: string): Frame {
  try {
    return { dir, listing: opendirSync(procFd ? `${PROC_FD}/${dir.fd}` : dir.path), extra: [], parent, name };
  } catch (e) {
    closeSync(dir.fd);
    throw e;
  }
}

function nextName(frame: Frame): string | undefined {
  return frame.extra.pop() ?? frame.listing.readSync()?.name ?? undefined;
}

function closeFrame(frame: Frame): void {
  frame.listing.closeSync();
  closeSync(frame.dir.fd);
}

function parseUser(user: string): { uid: number; gid: number } {
  const [uid, gid] = user.split(":").map((n) => Number.parseInt(n, 10));
  if (uid === undefined || gid === undefined || Number.isNaN(uid) || Number.isNaN(gid)) {
    throw new ContainerError(`agent user "${user}" is not uid:gid`, "pass numeric uid:gid");
  }
  return { uid, gid };
}

function isRoot(): boolean {
  return typeof process.getuid === "function" && process.getuid() === 0;
}

function linkRefusal(path: string): AgentTreeError {
  return new AgentTreeError(
    "symlink",
    path,
    `${path} is a symbolic link inside a tree the agent can write; carapace does not follow it`,
    "remove the link (the agent planted it, or something else replaced the directory)",
  );
}

/** Opens a directory without following a link in its last component. */
function openDirNoFollow(path: string): number {
  try {
    return openSync(path, DIR_FLAGS);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ELOOP" || code === "ENOTDIR") {
      let st: Stats | undefined;
      try {
        st = lstatSync(path);
      } catch {}
      if (st?.isSymbolicLink()) throw linkRefusal(path);
      throw new AgentTreeError("not-directory", path, `${path} is not a directory`, "remove it and start again");
    }
    throw e;
  }
}

/**
 * Creates `path` (its parent must be a host-only directory) if missing and hands it to the agent:
 * owner and mode are set through an fd opened with O_NOFOLLOW, so a link in its place is refused and
 * nothing else is ever chowned. Owner changes only when the host runs as root (rootless: the agent is
 * the host user already). Never descends into the tree.
 */
export function grantDirToAgent(path: string, user: string, mode = 0o700): void {
  const { uid, gid } = parseUser(user);
  try {
    mkdirSync(path, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
  }
  const fd = openDirNoFollow(path);
  try {
    if (isRoot()) fchownSync(fd, uid, gid);
    fchmodSync(fd, mode);
  } finally {
    closeSync(fd);
  }
}

/**
 * Hands a Unix socket the host has just bound to the agent's uid. A symlink or any other kind of file
 * in its place is refused; lchown never follows a link.
 */
export function grantSocketToAgent(path: string, user: string): void {
  const { uid, gid } = parseUser(user);
  const st = lstatSync(path);
  if (st.isSymbolicLink()) throw linkRefusal(path);
  if (!st.isSocket()) {
    throw new AgentTreeError("not-regular-file", path, `${path} is not a Unix socket`, "remove it and start again");
  }
  if (isRoot()) lchownSync(path, uid, gid);
}

/**
 * Walks the directory tree at `root` without following links, calling `visit` for every entry with its
 * lstat; `leave` runs after a directory's children (for removal). The root itself must be a directory.
 * Below MAX_TREE_DEPTH a directory is either not entered ("stop") or renamed into the root, fd-relative,
 * and walked from there ("hoist"), so a deep tree never holds more than MAX_TREE_DEPTH fds open.
 */
function walk(
  root: string,
  deep: "stop" | "hoist",
  visit: (st: Stats, at: string, name: string, parent: OpenDir) => void,
  leave?: (dir: OpenDir, parent: OpenDir | null, name: string) => void,
): void {
  const stack: Frame[] = [];
  try {
    stack.push(openFrame({ fd: openDirNoFollow(root), path: root }, null, root));
    while (stack.length > 0) {
      const frame = stack[stack.length - 1] as Frame;
      const name = nextName(frame);
      if (name === undefined) {
        stack.pop();
        closeFrame(frame);
        leave?.(frame.dir, frame.parent, frame.name);
        continue;
      }
      const at = childPath(frame.dir, name);
      let st: Stats;
      try {
        st = lstatSync(at);
      } catch {
        continue; // vanished meanwhile (or listed twice)
      }
      visit(st, at, name, frame.dir);
      if (!st.isDirectory()) continue;
      if (stack.length >= MAX_TREE_DEPTH) {
        if (deep === "stop") continue;
        const base = stack[0] as Frame;
        const hoisted = `.carapace-deep-${randomBytes(8).toString("hex")}`;
        renameSync(at, childPath(base.dir, hoisted));
        base.extra.push(hoisted);
        continue;
      }
      let fd: number;
      try {
        fd = openSync(at, DIR_FLAGS);
      } catch {
        // Swapped for a link or a file since the lstat: met as what it is now, never followed.
        try {
          const now = lstatSync(at);
          if (!now.isDirectory()) visit(now, at, name, frame.dir);
        } catch {}
        continue;
      }
      stack.push(openFrame({ fd, path: `${frame.dir.path}/${name}` }, frame.dir, name));
    }
  } finally {
    for (const frame of stack) closeFrame(frame);
  }
}

/**
 * Removes `path` and everything under it. Links are unlinked, never followed; the walk is fd-relative,
 * so a directory replaced by a link while it runs only loses the link. A missing path is fine.
 */
export function removeAgentTree(path: string): void {
  let st: Stats;
  try {
    st = lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
    throw e;
  }
  if (!st.isDirectory()) {
    unlinkSync(path);
    return;
  }
  walk(
    path,
    "hoist",
    (entry, at) => {
      if (!entry.isDirectory()) unlinkSync(at);
    },
    (_dir, parent, name) => {
      if (parent) rmdirSync(childPath(parent, name));
    },
  );
  rmdirSync(path);
}

/**
 * Bytes under `path` (apparent sizes from lstat), never following links. Bounded: stops counting after
 * `maxEntries` entries (the figure is then a lower bound) and does not descend below MAX_TREE_DEPTH;
 * unreadable parts count 0.
 */
export function treeUsage(path: string, maxEntries = MAX_USAGE_ENTRIES): number {
  let st: Stats;
  try {
    st = lstatSync(path);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return Number(st.size);
  let total = 0;
  let entries = 0;
  try {
    walk(path, "stop", (entry) => {
      if (++entries > maxEntries) {
        throw new AgentTreeError("too-many-entries", path, `${path} has too many entries`, "count it by hand");
      }
      if (!entry.isDirectory()) total += Number(entry.size);
    });
  } catch (e) {
    if (!(e instanceof AgentTreeError) && !(e as NodeJS.ErrnoException).code) throw e;
  }
  return total;
}

/**
 * Reads a file the agent may have written, refusing anything but a regular file with a single link of
 * at most `maxBytes`: a symlink, a hard link to some other file, a FIFO (whose open would block), a
 * device or socket, or an oversize file. The checks are repeated on the opened fd.
 */
export function readAgentFile(path: string, maxBytes: number): Buffer {
  const check = (st: Stats): void => {
    if (st.isSymbolicLink()) throw linkRefusal(path);
    if (!st.isFile()) {
      throw new AgentTreeError(
        "not-regular-file",
        path,
        `${path} is not a regular file (FIFO, device, socket or directory)`,
        "remove it; carapace reads only regular files from agent-writable trees",
      );
    }
    if (st.nlink > 1) {
      throw new AgentTreeError(
        "hard-link",
        path,
        `${path} has ${st.nlink} hard links; it may be another file's contents`,
        "remove the extra links",
      );
    }
    if (st.size > maxBytes) {
      throw new AgentTreeError(
        "too-large",
        path,
        `${path} is ${st.size} bytes, over the ${maxBytes}-byte limit`,
        "remove or shrink it",
      );
    }
  };
  const before = lstatSync(path);
  check(before);
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const st = fstatSync(fd);
    check(st);
    if (st.ino !== before.ino || st.dev !== before.dev) throw linkRefusal(path);
    const buf = Buffer.alloc(maxBytes + 1);
    let n = 0;
    while (n < buf.length) {
      const r = readSync(fd, buf, n, buf.length - n, null);
      if (r === 0) break;
      n += r;
    }
    if (n > maxBytes) {
      throw new AgentTreeError(
        "too-large",
        path,
        `${path} grew past the ${maxBytes}-byte limit`,
        "remove or shrink it",
      );
    }
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}
