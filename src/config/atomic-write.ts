import { chmodSync, closeSync, constants, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from "node:fs";

/**
 * Writes `content` to a new temporary file beside `path` (created exclusively, never following a
 * link), syncs it, sets `mode` and renames it over `path`: readers see the old file or the new one,
 * never half of one. A rename replaces a symlink at `path` rather than writing through it.
 */
export function writeFileAtomic(path: string, content: string | Uint8Array, mode: number): void {
  const tmp = `${path}.tmp-${process.pid}-${crypto.randomUUID().slice(0, 8)}`;
  const bytes = typeof content === "string" ? Buffer.from(content, "utf8") : content;
  const fd = openSync(
    tmp,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0),
    mode,
  );
  try {
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    unlinkSync(tmp);
    throw error;
  }
  closeSync(fd);
  try {
    chmodSync(tmp, mode); // the umask may have removed bits
    renameSync(tmp, path);
  } catch (error) {
    unlinkSync(tmp);
    throw error;
  }
}
