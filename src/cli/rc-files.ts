/**
 * The PATH lines install.sh adds to shell start-up files carry the marker comment; uninstall removes
 * exactly the lines that carry it and leaves every other byte of the file as it was (files are read
 * as latin1, one character per byte, so bytes that are not UTF-8 survive too).
 */
import { existsSync, readFileSync, realpathSync, statSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../config/atomic-write.ts";

export const INSTALL_MARKER = "# added by carapace install.sh";

/** The start-up files install.sh may have edited, relative to the user's home. */
export const RC_FILES = [".bashrc", ".zshrc", ".profile", ".config/fish/config.fish"] as const;

export interface RcEdit {
  path: string;
  /** The marked lines, without their line ending. */
  lines: string[];
}

/** Splits text into lines that keep their own endings, so joining them gives the text back. */
function linesWithEndings(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

export function withoutMarkedLines(text: string): { text: string; removed: string[] } {
  const kept: string[] = [];
  const removed: string[] = [];
  for (const line of linesWithEndings(text)) {
    if (line.includes(INSTALL_MARKER)) removed.push(line.replace(/\r?\n$/, ""));
    else kept.push(line);
  }
  return { text: kept.join(""), removed };
}

/** The rc files under `userHome` that hold marked lines. */
export function findMarkedRcFiles(userHome: string): RcEdit[] {
  const edits: RcEdit[] = [];
  for (const name of RC_FILES) {
    const path = join(userHome, name);
    if (!existsSync(path)) continue;
    const { removed } = withoutMarkedLines(readFileSync(path, "latin1"));
    if (removed.length > 0) edits.push({ path, lines: removed });
  }
  return edits;
}

/**
 * Removes the marked lines. A symlinked rc file (a dotfiles manager) is edited at its target so the
 * link stays; the file keeps its mode.
 */
export function removeMarkedLines(path: string): void {
  const target = realpathSync(path);
  const { text, removed } = withoutMarkedLines(readFileSync(target, "latin1"));
  if (removed.length === 0) return;
  writeFileAtomic(target, Buffer.from(text, "latin1"), statSync(target).mode & 0o7777);
}
