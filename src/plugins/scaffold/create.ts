/**
 * Writes a new plugin folder (manifest, handler, skill, test, the SDK's .d.ts and a tsconfig). The
 * manifest is checked with the loader's own rules before anything is written.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { UserError } from "../../errors/user-error.ts";
import type { PluginProblem } from "../failure.ts";
import { checkManifest, checkPluginName } from "../manifest-check.ts";
import {
  handlerTemplate,
  manifestTemplate,
  type ScaffoldSpec,
  skillTemplate,
  testTemplate,
  toolPrefix,
  tsconfigTemplate,
} from "./templates.ts";

export class ScaffoldError extends UserError {
  override name = "ScaffoldError";
  constructor(what: string, fix: string) {
    super("PLUGIN", what, fix);
  }
}

/** `greet` → `<prefix>.greet`; a name with a dot is taken as given. */
export function fullToolName(plugin: string, tool: string): string {
  const t = tool.trim();
  return t.includes(".") ? t : `${toolPrefix(plugin)}.${t}`;
}

/** The files of a new plugin, checked; throws ScaffoldError with what to change. */
export function planScaffold(spec: ScaffoldSpec, dts: string): Record<string, string> {
  const nameProblem: PluginProblem | null = checkPluginName(spec.name);
  if (nameProblem) throw new ScaffoldError(`${nameProblem.category}: ${nameProblem.message}`, "pick another name");
  const manifest = manifestTemplate(spec);
  const checked = checkManifest(spec.name, manifest);
  const first = checked.problems[0];
  if (first) {
    throw new ScaffoldError(
      `${first.category}: ${first.message}`,
      "choose tool names of lowercase letters, digits and _ (one dot), not reserved by the core",
    );
  }
  return {
    "manifest.json": manifest,
    "handler.ts": handlerTemplate(spec),
    [`skills/${spec.name}.md`]: skillTemplate(spec),
    "handler.test.ts": testTemplate(spec),
    "tsconfig.json": tsconfigTemplate(),
    "carapace-sdk.d.ts": dts,
  };
}

/** Writes the plugin into `dir` (which must not exist, or be empty); returns the files written. */
export function writeScaffold(dir: string, files: Record<string, string>): string[] {
  const target = resolve(dir);
  if (existsSync(target) && readdirSync(target).length > 0) {
    throw new ScaffoldError(`${dir} already exists and is not empty`, "pick a new folder, or remove it first");
  }
  mkdirSync(join(target, "skills"), { recursive: true, mode: 0o755 });
  for (const [file, text] of Object.entries(files)) writeFileSync(join(target, file), text, { mode: 0o644 });
  return Object.keys(files);
}

export function pluginNameOf(dir: string): string {
  return basename(resolve(dir));
}
