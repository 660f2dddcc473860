/**
 * Checks of a plugin folder on disk before anything in it is read or run: no symbolic links (a link
 * could lead the loader out of the folder), the expected regular files, and ownership and modes that
 * keep other users from changing the code the core runs (docs/THREAT_MODEL.md).
 */
import { lstatSync, readdirSync, type Stats } from "node:fs";
import { join } from "node:path";
import { type PluginProblem, problem } from "./failure.ts";
import { MAX_MANIFEST_BYTES } from "./manifest-check.ts";

const SKILL_FILE = /^[a-z0-9][a-z0-9_.-]{0,63}\.md$/;
const MAX_SKILLS = 64;

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}

function ownershipProblem(stat: Stats, what: string): PluginProblem | null {
  const me = process.getuid?.();
  if (me !== undefined && stat.uid !== me) {
    return problem("unsafe_permissions", `${what} is owned by uid ${stat.uid}, not by you; chown it to uid ${me}`);
  }
  if ((stat.mode & 0o022) !== 0) {
    const mode = `0${(stat.mode & 0o777).toString(8)}`;
    return problem("unsafe_permissions", `${what} has mode ${mode}, writable by others; run chmod go-w on it`);
  }
  return null;
}

/** Problems of the folder `dir` (shown as `label`); empty when it is safe to read and import. */
export function checkPluginFolder(dir: string, label: string): PluginProblem[] {
  const stat = lstatOrNull(dir);
  if (stat === null) return [problem("import_failed", `${label} does not exist`)];
  if (stat.isSymbolicLink()) {
    return [problem("path_traversal", `${label} is a symbolic link; copy the plugin folder in place instead`)];
  }
  if (!stat.isDirectory()) return [problem("manifest_invalid", `${label} is not a directory`)];
  const problems: PluginProblem[] = [];
  const folderOwner = ownershipProblem(stat, `the folder ${label}`);
  if (folderOwner) problems.push(folderOwner);

  for (const entry of readdirSync(dir)) {
    const s = lstatOrNull(join(dir, entry));
    if (s?.isSymbolicLink()) {
      problems.push(
        problem("path_traversal", `${label}/${entry} is a symbolic link; links are not allowed in plugins`),
      );
    }
  }
  const manifest = lstatOrNull(join(dir, "manifest.json"));
  if (manifest === null) problems.push(problem("manifest_invalid", `${label} has no manifest.json`));
  else if (manifest.isFile()) {
    const owner = ownershipProblem(manifest, `${label}/manifest.json`);
    if (owner) problems.push(owner);
    if (manifest.size > MAX_MANIFEST_BYTES) {
      problems.push(
        problem("too_large", `manifest.json is ${manifest.size} bytes; at most ${MAX_MANIFEST_BYTES} are allowed`),
      );
    }
  } else if (!manifest.isSymbolicLink()) problems.push(problem("manifest_invalid", "manifest.json is not a file"));

  const handler = lstatOrNull(join(dir, "handler.ts"));
  if (handler === null) problems.push(problem("import_failed", `${label} has no handler.ts`));
  else if (handler.isFile()) {
    const owner = ownershipProblem(handler, `${label}/handler.ts`);
    if (owner) problems.push(owner);
  } else if (!handler.isSymbolicLink()) problems.push(problem("import_failed", "handler.ts is not a file"));

  problems.push(...checkSkills(join(dir, "skills"), `${label}/skills`));
  return problems;
}

/** skills/*.md: plain files with plain names, nothing that could point elsewhere. */
function checkSkills(dir: string, label: string): PluginProblem[] {
  const stat = lstatOrNull(dir);
  if (stat === null) return [];
  if (stat.isSymbolicLink()) return [problem("path_traversal", `${label} is a symbolic link`)];
  if (!stat.isDirectory()) return [problem("manifest_invalid", `${label} is not a directory`)];
  const out: PluginProblem[] = [];
  const entries = readdirSync(dir);
  if (entries.length > MAX_SKILLS) out.push(problem("too_large", `${label} holds more than ${MAX_SKILLS} entries`));
  for (const entry of entries.slice(0, MAX_SKILLS)) {
    const s = lstatOrNull(join(dir, entry));
    if (s?.isSymbolicLink()) out.push(problem("path_traversal", `${label}/${entry} is a symbolic link`));
    else if (!SKILL_FILE.test(entry) || !s?.isFile()) {
      out.push(
        problem("path_traversal", `${label}/${JSON.stringify(entry.slice(0, 64))} is not a plain skill file (name.md)`),
      );
    }
  }
  return out;
}
