import { chmodSync, lstatSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { writeFileAtomic } from "./atomic-write.ts";
import { HomeError } from "./home-error.ts";
import { CARAPACE_VERSION, HOME_LAYOUT_VERSION } from "./version.ts";

/**
 * $CARAPACE_HOME: where Carapace keeps everything. docs/HOME.md is the prose version of HOME_LAYOUT;
 * tests check the two agree.
 */

export type Mutability =
  /** You edit it (directly or through `carapace config`/`plugin`). */
  | "user"
  /** Carapace writes it; do not edit by hand. */
  | "managed"
  /** Replaced by install.sh and `carapace update`. */
  | "install"
  /** Recreated as needed; safe to delete while Carapace is stopped. */
  | "ephemeral"
  /** Secrets: written through `carapace auth`, or by you with mode 0600. */
  | "secret";

export interface HomeEntry {
  /** Relative to the home; "." is the home itself. */
  path: string;
  kind: "dir" | "file";
  mode: number;
  mutability: Mutability;
  purpose: string;
  /**
   * ensureHome resets the mode of an existing directory it owns, except where drift is a finding the
   * user must see (credentials/: reported by checkCredentialDir at every start and by doctor).
   */
  repairMode: boolean;
}

export const HOME_LAYOUT = [
  { path: ".", kind: "dir", mode: 0o700, mutability: "managed", repairMode: true, purpose: "the Carapace home" },
  {
    path: "config.toml",
    kind: "file",
    mode: 0o600,
    mutability: "user",
    repairMode: false,
    purpose: "configuration; absent means every default (created by `carapace config set` or `carapace setup`)",
  },
  {
    path: "version",
    kind: "file",
    mode: 0o644,
    mutability: "managed",
    repairMode: false,
    purpose: "the carapace release and home layout version that last used this home",
  },
  {
    path: "bin",
    kind: "dir",
    mode: 0o755,
    mutability: "install",
    repairMode: true,
    purpose: "the `carapace` executable",
  },
  {
    path: "lib",
    kind: "dir",
    mode: 0o755,
    mutability: "install",
    repairMode: true,
    purpose: "support files of the release (e.g. `ipc-linux-<arch>` for the agent image)",
  },
  {
    path: "lib/plugins",
    kind: "dir",
    mode: 0o755,
    mutability: "install",
    repairMode: true,
    purpose: "built-in plugins shipped with the release",
  },
  {
    path: "plugins",
    kind: "dir",
    mode: 0o755,
    mutability: "user",
    repairMode: true,
    purpose: "your plugins; one overrides a built-in of the same name (must not be group/world-writable)",
  },
  { path: "data", kind: "dir", mode: 0o700, mutability: "managed", repairMode: true, purpose: "persistent state" },
  {
    path: "data/audit",
    kind: "dir",
    mode: 0o700,
    mutability: "managed",
    repairMode: true,
    purpose: "hash-chained audit logs, one per group plus the core log",
  },
  {
    path: "logs",
    kind: "dir",
    mode: 0o700,
    mutability: "managed",
    repairMode: true,
    purpose: "the core's own log, `core.log`, rotated to `core.log.1` … `core.log.4` at 5 MB (`carapace logs`)",
  },
  {
    path: "data/memory",
    kind: "dir",
    mode: 0o700,
    mutability: "managed",
    repairMode: true,
    purpose: "per-group memory databases (SQLite)",
  },
  {
    path: "data/tasks",
    kind: "dir",
    mode: 0o700,
    mutability: "managed",
    repairMode: true,
    purpose: "per-group scheduled tasks and their runs (SQLite; `carapace task`)",
  },
  {
    path: "data/conversations",
    kind: "dir",
    mode: 0o700,
    mutability: "managed",
    repairMode: true,
    purpose: "per-group conversations (SQLite): each turn's sender, text and final answer, recorded by the host",
  },
  {
    path: "data/core",
    kind: "dir",
    mode: 0o700,
    mutability: "managed",
    repairMode: true,
    purpose: "the core's own state (e.g. audit chain heads)",
  },
  {
    path: "credentials",
    kind: "dir",
    mode: 0o700,
    mutability: "secret",
    repairMode: false,
    purpose: "API keys and tokens, one 0600 file per key; symlinks refused; checked at every start",
  },
  {
    path: "run",
    kind: "dir",
    mode: 0o700,
    mutability: "ephemeral",
    repairMode: true,
    purpose: "runtime files of a running core (control.sock, pid)",
  },
  {
    path: "run/sockets",
    kind: "dir",
    mode: 0o700,
    mutability: "ephemeral",
    repairMode: true,
    purpose: "one directory per session holding its request socket",
  },
  {
    path: "cache",
    kind: "dir",
    mode: 0o700,
    mutability: "ephemeral",
    repairMode: true,
    purpose: "extracted libzmq when $TMPDIR is noexec, and other rebuildable files",
  },
] as const satisfies readonly HomeEntry[];

/** A path HOME_LAYOUT defines: the only spellings of the home's folders and files. */
export type HomeLayoutPath = (typeof HOME_LAYOUT)[number]["path"];

export const CONFIG_FILE = "config.toml";
export const VERSION_FILE = "version";

/**
 * CARAPACE_HOME with `~` expanded, made absolute and without trailing slashes; else `~/.carapace`.
 * `~user` forms are refused because their meaning depends on the shell.
 */
export function resolveHome(env: Record<string, string | undefined> = process.env, userHome = homedir()): string {
  const raw = env.CARAPACE_HOME?.trim();
  if (raw === undefined || raw === "") return join(userHome, ".carapace");
  let expanded = raw;
  if (raw === "~" || raw.startsWith("~/")) expanded = join(userHome, raw.slice(1));
  else if (raw.startsWith("~")) {
    throw new HomeError(
      `CARAPACE_HOME="${raw}" uses the ~user form, which is not supported`,
      "set CARAPACE_HOME to an absolute path or to a path starting with ~/",
    );
  }
  const absolute = isAbsolute(expanded) ? expanded : resolve(expanded);
  const stripped = absolute.replace(/\/+$/, "");
  return stripped === "" ? "/" : stripped;
}

/** The absolute path of one HOME_LAYOUT entry (`homePath(home, "run/sockets")`). */
export function homePath(home: string, entry: HomeLayoutPath): string {
  return entry === "." ? home : join(home, entry);
}

export interface ModeRepair {
  path: string;
  from: number;
  to: number;
}

export interface EnsureHomeReport {
  created: string[];
  modesRepaired: ModeRepair[];
}

function currentUid(): number | undefined {
  return process.getuid?.();
}

/**
 * Creates every directory of HOME_LAYOUT with its mode, resets drifted modes of directories this
 * user owns (except credentials/), and writes the version file. Idempotent; called at every start.
 */
export function ensureHome(home: string, version: string = CARAPACE_VERSION): EnsureHomeReport {
  const report: EnsureHomeReport = { created: [], modesRepaired: [] };
  const uid = currentUid();
  for (const entry of HOME_LAYOUT) {
    if (entry.kind !== "dir") continue;
    const path = homePath(home, entry.path);
    let existing = statOrNull(path);
    if (existing === null) {
      try {
        // Missing parents of the home itself are created too (CARAPACE_HOME=/srv/new/carapace).
        mkdirSync(path, { mode: entry.mode, recursive: entry.path === "." });
        chmodSync(path, entry.mode); // the umask may have removed bits
        report.created.push(entry.path);
        continue;
      } catch (error) {
        // EEXIST: another process (a second `carapace start` at the same instant) created it meanwhile.
        existing = (error as NodeJS.ErrnoException).code === "EEXIST" ? statOrNull(path) : null;
        if (existing === null)
          throw new HomeError(
            `cannot create ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
            "check that the parent directory exists and is writable, or point CARAPACE_HOME elsewhere",
          );
      }
    }
    if (!existing.isDirectory()) {
      throw new HomeError(
        `${path} exists but is not a directory`,
        `move it away; Carapace needs a directory there (${entry.purpose})`,
      );
    }
    const mode = existing.mode & 0o777;
    if (entry.repairMode && mode !== entry.mode && (uid === undefined || existing.uid === uid)) {
      chmodSync(path, entry.mode);
      report.modesRepaired.push({ path: entry.path, from: mode, to: entry.mode });
    }
  }
  writeVersionFile(home, version);
  return report;
}

function statOrNull(path: string) {
  try {
    return statSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}

export interface HomeVersion {
  carapace: string;
  layout: number;
}

function versionText(version: string): string {
  return `carapace ${version}\nlayout ${HOME_LAYOUT_VERSION}\n`;
}

export function readHomeVersion(home: string): HomeVersion | null {
  let text: string;
  try {
    text = readFileSync(join(home, VERSION_FILE), "utf8");
  } catch {
    return null;
  }
  const carapace = /^carapace (\S+)$/m.exec(text)?.[1];
  const layout = Number(/^layout (\d+)$/m.exec(text)?.[1]);
  return carapace === undefined || !Number.isInteger(layout) ? null : { carapace, layout };
}

function writeVersionFile(home: string, version: string): void {
  const path = join(home, VERSION_FILE);
  const wanted = versionText(version);
  try {
    if (lstatSync(path).isFile() && readFileSync(path, "utf8") === wanted) return;
  } catch {
    // absent: written below
  }
  writeFileAtomic(path, wanted, 0o644);
}
