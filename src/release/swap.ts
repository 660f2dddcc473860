/**
 * Puts verified files into place all-or-nothing. Each new file is first written beside its target
 * (same directory, so the final rename is atomic), then the targets are renamed over one by one with
 * the old files kept as hard links; if any step fails every target already replaced is restored.
 */
import { chmodSync, copyFileSync, existsSync, linkSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { ReleaseError } from "./errors.ts";

export interface Replacement {
  target: string;
  data: Uint8Array;
}

function sibling(target: string, tag: string): string {
  return join(dirname(target), `.${basename(target)}.${tag}-${process.pid}`);
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Writes every new file beside its target (mode 0755); returns the staged paths, in order. */
export function stageBeside(replacements: readonly Replacement[]): string[] {
  const staged: string[] = [];
  try {
    for (const { target, data } of replacements) {
      mkdirSync(dirname(target), { recursive: true, mode: 0o755 });
      const path = sibling(target, "new");
      writeFileSync(path, data, { mode: 0o755 });
      chmodSync(path, 0o755);
      staged.push(path);
    }
  } catch (error) {
    for (const path of staged) rmSync(path, { force: true });
    throw new ReleaseError(
      `cannot write the new files beside the install (${reason(error)})`,
      "free disk space or fix the permissions; nothing was changed",
    );
  }
  return staged;
}

export function discardStaged(staged: readonly string[]): void {
  for (const path of staged) rmSync(path, { force: true });
}

/** Renames each staged file over its target; on any failure restores the targets already replaced. */
export function swapInto(replacements: readonly Replacement[], staged: readonly string[]): void {
  const done: { target: string; backup: string | undefined }[] = [];
  try {
    replacements.forEach(({ target }, index) => {
      let backup: string | undefined;
      if (existsSync(target)) {
        backup = sibling(target, "old");
        rmSync(backup, { force: true });
        try {
          linkSync(target, backup);
        } catch {
          copyFileSync(target, backup);
        }
      }
      done.push({ target, backup });
      renameSync(staged[index] as string, target);
    });
  } catch (error) {
    for (const { target, backup } of done.reverse()) {
      if (backup) renameSync(backup, target);
      else rmSync(target, { force: true });
    }
    discardStaged(staged);
    throw new ReleaseError(
      `replacing the installed files failed (${reason(error)}); the previous install was restored`,
      "fix the permissions of the install directories and try again",
    );
  }
  for (const { backup } of done) if (backup) rmSync(backup, { force: true });
}
