/**
 * The PATH lines install.sh adds to shell start-up files carry the marker comment and the quoted bin
 * directory of the home they were written for. Uninstall removes exactly this home's lines (another
 * home's marked lines stay) and leaves every other byte of the file as it was (files are read as
 * latin1, one character per byte, so bytes that are not UTF-8 survive too). A fish conf.d file that
 * install.sh created and that holds nothing else afterwards is removed.
 */
import { existsSync, readFileSync, realpathSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../config/atomic-write.ts";

export const INSTALL_MARKER = "# added by carapace install.sh";

/** The file install.sh creates for fish; its only content is the PATH line. */
const FISH_CONF_D = "fish/conf.d/carapace.fish";

type Env = Record<string, string | undefined>;

/** Every start-up file install.sh may have written to, for any shell and OS (see rc_file in install.sh). */
export function rcFileCandidates(userHome: string, env: Env = process.env): string[] {
  const config = env.XDG_CONFIG_HOME?.trim() ? (env.XDG_CONFIG_HOME as string) : join(userHome, ".config");
  const zdot = env.ZDOTDIR?.trim() ? (env.ZDOTDIR as string) : userHome;
  const paths = [
    join(userHome, ".bashrc"),
    join(userHome, ".bash_profile"),
    join(userHome, ".profile"),
    join(zdot, ".zshrc"),
    join(userHome, ".zshrc"),
    join(config, FISH_CONF_D),
    join(config, "fish/config.fish"),
  ];
  return [...new Set(paths)];
}

export interface RcEdit {
  path: string;
  /** The marked lines, without their line ending. */
  lines: string[];
  /** The file holds nothing else and install.sh created it (fish conf.d): it is removed. */
  removeFile: boolean;
}

/** Splits text into lines that keep their own endings, so joining them gives the text back. */
function linesWithEndings(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

/** A marked line written for `binDir`: install.sh quotes the directory as '<binDir>'. */
function isHomeLine(line: string, binDir: string): boolean {
  return line.includes(INSTALL_MARKER) && line.includes(`'${binDir}'`);
}

export function withoutMarkedLines(text: string, binDir: string): { text: string; removed: string[] } {
  const kept: string[] = [];
  const removed: string[] = [];
  for (const line of linesWithEndings(text)) {
    if (isHomeLine(line, binDir)) removed.push(line.replace(/\r?\n$/, ""));
    else kept.push(line);
  }
  return { text: kept.join(""), removed };
}

/** The start-up files that hold PATH lines written for this home's bin directory. */
export function findMarkedRcFiles(userHome: string, binDir: string, env: Env = process.env): RcEdit[] {
  const edits: RcEdit[] = [];
  for (const path of rcFileCandidates(userHome, env)) {
    if (!existsSync(path)) continue;
    const { text, removed } = withoutMarkedLines(readFileSync(path, "latin1"), binDir);
    if (removed.length > 0)
      edits.push({ path, lines: removed, removeFile: path.endsWith(FISH_CONF_D) && text.trim() === "" });
  }
  return edits;
}

/**
 * Removes this home's marked lines. A symlinked rc file (a dotfiles manager) is edited at its target
 * so the link stays; the file keeps its mode.
 */
export function removeMarkedLines(edit: RcEdit, binDir: string): void {
  if (edit.removeFile) {
    rmSync(edit.path, { force: true });
    return;
  }
  const target = realpathSync(edit.path);
  const { text, removed } = withoutMarkedLines(readFileSync(target, "latin1"), binDir);
  if (removed.length === 0) return;
  writeFileAtomic(target, Buffer.from(text, "latin1"), statSync(target).mode & 0o7777);
}
