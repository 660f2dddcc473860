import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  type Stats,
  unlinkSync,
} from "node:fs";
import { join } from "node:path";
import { EXIT, UserError } from "../errors/user-error.ts";
import { writeFileAtomic } from "./atomic-write.ts";

/**
 * The credential store: `$CARAPACE_HOME/credentials/`, mode 0700, one file per key with mode
 * 0600, owned by the user running Carapace. Symlinks are refused (lstat, O_NOFOLLOW), so a link cannot
 * make Carapace read or overwrite another file. Values never appear in messages or logs.
 */

export const CREDENTIALS_DIR = "credentials";
export const CREDENTIAL_KEY_PATTERN = /^[a-z0-9_-][a-z0-9_.-]{0,63}$/;
const DIR_MODE = 0o700;
const FILE_MODE = 0o600;

export type FindingLevel = "pass" | "warn" | "fail";

/** One check result, shared with `carapace doctor`. */
export interface Finding {
  /** Stable identifier, e.g. "credentials.dir-mode". */
  check: string;
  level: FindingLevel;
  message: string;
  /** What to do; empty for a pass. */
  fix: string;
}

export class CredentialError extends UserError {
  override name = "CredentialError";
  constructor(what: string, fix: string, exitCode: 1 | 2 = EXIT.failure) {
    super("CREDENTIALS", what, fix, exitCode);
  }
}

export function credentialsDir(home: string): string {
  return join(home, CREDENTIALS_DIR);
}

function octal(mode: number): string {
  return `0${(mode & 0o777).toString(8)}`;
}

function uid(): number | undefined {
  return process.getuid?.();
}

export function assertCredentialKey(key: string): void {
  if (!CREDENTIAL_KEY_PATTERN.test(key)) {
    throw new CredentialError(
      `"${key.slice(0, 64)}" is not a valid credential name`,
      "use 1-64 characters from lowercase a-z, 0-9, _, . and -, not starting with a dot",
      EXIT.usage,
    );
  }
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}

function dirFindings(dir: string, stat: Stats): Finding[] {
  const findings: Finding[] = [];
  const me = uid();
  if (stat.isSymbolicLink()) {
    findings.push({
      check: "credentials.dir-symlink",
      level: "fail",
      message: `${dir} is a symbolic link; Carapace refuses to follow it`,
      fix: `replace the link with a real directory: rm ${dir} && mkdir -m 700 ${dir}, then store the credentials again`,
    });
    return findings;
  }
  if (!stat.isDirectory()) {
    findings.push({
      check: "credentials.dir-type",
      level: "fail",
      message: `${dir} is not a directory`,
      fix: `move it away and run carapace again to create ${dir} with mode 0700`,
    });
    return findings;
  }
  if (me !== undefined && stat.uid !== me) {
    findings.push({
      check: "credentials.dir-owner",
      level: "fail",
      message: `${dir} is owned by uid ${stat.uid}, not by you (uid ${me})`,
      fix: `chown ${me} ${dir}, or run carapace as the user who owns it`,
    });
  }
  if ((stat.mode & 0o777) !== DIR_MODE) {
    findings.push({
      check: "credentials.dir-mode",
      level: "fail",
      message: `${dir} has mode ${octal(stat.mode)}; it must be 0700 so no one else can list or read it`,
      fix: `chmod 700 ${dir}`,
    });
  }
  return findings;
}

function fileFindings(dir: string, name: string): Finding[] {
  const path = join(dir, name);
  const stat = lstatOrNull(path);
  if (stat === null) return [];
  const me = uid();
  if (stat.isSymbolicLink()) {
    return [
      {
        check: "credentials.file-symlink",
        level: "fail",
        message: `${path} is a symbolic link; credential files must be regular files and links are never followed`,
        fix: `rm ${path} and store the credential again (e.g. carapace auth api-key)`,
      },
    ];
  }
  if (!stat.isFile()) {
    return [
      {
        check: "credentials.file-type",
        level: "warn",
        message: `${path} is not a regular file and is ignored`,
        fix: `move it out of ${dir}`,
      },
    ];
  }
  const findings: Finding[] = [];
  if (!CREDENTIAL_KEY_PATTERN.test(name)) {
    findings.push({
      check: "credentials.file-name",
      level: "warn",
      message: `${path} does not have a valid credential name and is ignored`,
      fix: `rename it using lowercase a-z, 0-9, _, . and - (not starting with a dot), or remove it`,
    });
  }
  if (me !== undefined && stat.uid !== me) {
    findings.push({
      check: "credentials.file-owner",
      level: "fail",
      message: `${path} is owned by uid ${stat.uid}, not by you (uid ${me})`,
      fix: `chown ${me} ${path}`,
    });
  }
  if ((stat.mode & 0o077) !== 0) {
    findings.push({
      check: "credentials.file-mode",
      level: "fail",
      message: `${path} has mode ${octal(stat.mode)}; it must be 0600`,
      fix: `chmod 600 ${path}`,
    });
  }
  return findings;
}

/** Warns when Carapace runs as root: a compromise of the host side would then own the machine. */
export function checkRunningUser(): Finding {
  return uid() === 0
    ? {
        check: "process.root",
        level: "warn",
        message: "carapace is running as root",
        fix: "run carapace as your normal user; it needs no root privileges (rootful Podman is the exception)",
      }
    : { check: "process.root", level: "pass", message: "carapace is not running as root", fix: "" };
}

/**
 * Checks the directory and every entry in it: type, owner, mode, symlinks. Run at every start (fail
 * findings stop the core) and by `carapace doctor`. A missing directory passes: ensureHome creates it.
 */
export function checkCredentialDir(home: string): Finding[] {
  const dir = credentialsDir(home);
  const findings: Finding[] = [checkRunningUser()];
  const stat = lstatOrNull(dir);
  if (stat === null) {
    findings.push({ check: "credentials.dir", level: "pass", message: `${dir} does not exist yet`, fix: "" });
    return findings;
  }
  const problems = dirFindings(dir, stat);
  if (stat.isDirectory()) {
    for (const name of readdirSync(dir).sort()) problems.push(...fileFindings(dir, name));
  }
  if (problems.length === 0) {
    findings.push({
      check: "credentials.dir",
      level: "pass",
      message: `${dir} is private (0700, owned by you, every file 0600)`,
      fix: "",
    });
  }
  return [...findings, ...problems];
}

/** Throws the first fail finding: reading or writing secrets in an unsafe directory is refused. */
function assertDirSafe(home: string): void {
  const dir = credentialsDir(home);
  const stat = lstatOrNull(dir);
  if (stat === null) return;
  const failure = dirFindings(dir, stat).find((f) => f.level === "fail");
  if (failure !== undefined) throw new CredentialError(failure.message, failure.fix);
}

function ensureDir(home: string): string {
  const dir = credentialsDir(home);
  if (lstatOrNull(dir) === null) {
    mkdirSync(home, { recursive: true, mode: 0o700 });
    mkdirSync(dir, { mode: DIR_MODE });
  }
  assertDirSafe(home);
  return dir;
}

export function writeCredential(home: string, key: string, value: string | Uint8Array): void {
  assertCredentialKey(key);
  const dir = ensureDir(home);
  writeFileAtomic(join(dir, key), value, FILE_MODE);
}

/** The stored value, or null when there is none. Refuses links, foreign owners and loose modes. */
export function readCredential(home: string, key: string): string | null {
  assertCredentialKey(key);
  assertDirSafe(home);
  const path = join(credentialsDir(home), key);
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | (constants.O_NONBLOCK ?? 0));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return null;
    if (code === "ELOOP" || code === "EMLINK") {
      throw new CredentialError(
        `the credential "${key}" is a symbolic link, which is refused`,
        `rm ${path} and store the credential again`,
      );
    }
    throw new CredentialError(`cannot open the credential "${key}": ${code ?? "unknown error"}`, `check ${path}`);
  }
  try {
    const stat = fstatSync(fd);
    const me = uid();
    if (!stat.isFile()) throw new CredentialError(`the credential "${key}" is not a regular file`, `remove ${path}`);
    if (me !== undefined && stat.uid !== me) {
      throw new CredentialError(
        `the credential "${key}" is owned by uid ${stat.uid}, not by you`,
        `chown ${me} ${path}`,
      );
    }
    if ((stat.mode & 0o077) !== 0) {
      throw new CredentialError(
        `the credential "${key}" has mode ${octal(stat.mode)}; it must be 0600`,
        `chmod 600 ${path}`,
      );
    }
    return readFileSync(fd, "utf8");
  } finally {
    closeSync(fd);
  }
}

/** Names of the stored credentials (never their values), sorted. */
export function listCredentials(home: string): string[] {
  assertDirSafe(home);
  let names: string[];
  try {
    names = readdirSync(credentialsDir(home));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  return names
    .filter((name) => CREDENTIAL_KEY_PATTERN.test(name) && lstatOrNull(join(credentialsDir(home), name))?.isFile())
    .sort();
}

/** Removes a credential (a link in its place is removed, not followed). True when something was removed. */
export function deleteCredential(home: string, key: string): boolean {
  assertCredentialKey(key);
  assertDirSafe(home);
  try {
    unlinkSync(join(credentialsDir(home), key));
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw error;
  }
}
