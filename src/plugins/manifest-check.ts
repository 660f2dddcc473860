/**
 * Load-time security checks of a plugin's manifest: size, schema, names, closed argument
 * schemas. Returns every problem found; the first one is why the loader refuses the plugin.
 */
import Ajv, { type ValidateFunction } from "ajv";
import { EVENT_TOPICS } from "../protocol/topics.ts";
import { type PluginProblem, problem } from "./failure.ts";
import { MANIFEST_SCHEMA, type Manifest, PLUGIN_NAME_RULE } from "./manifest-schema.ts";
import { RESERVED_PLUGIN_NAMES, reservedCredentialReason, reservedToolReason } from "./reserved.ts";
import { checkSchemaRules } from "./schema-rules.ts";

export const MAX_MANIFEST_BYTES = 64 * 1024;
const PLUGIN_NAME = new RegExp(PLUGIN_NAME_RULE);

export interface ManifestCheck {
  /** Set only when there is no problem at all. */
  manifest: Manifest | null;
  problems: PluginProblem[];
}

let manifestValidator: ValidateFunction | null = null;
let strictAjv: Ajv | null = null;

const TOOL_NAME_PATH = /^\/provides\/tools\/\d+\/name$/;

function validateManifestShape(value: unknown): PluginProblem[] {
  manifestValidator ??= new Ajv({ allErrors: true, strict: true, logger: false }).compile(MANIFEST_SCHEMA);
  if (manifestValidator(value)) return [];
  return (manifestValidator.errors ?? []).slice(0, 5).map((e) => {
    const params = e.params as Record<string, unknown>;
    if (TOOL_NAME_PATH.test(e.instancePath) && e.keyword === "pattern") {
      const tools = (value as { provides: { tools: { name: string }[] } }).provides.tools;
      const name = tools[Number(e.instancePath.split("/")[3])]?.name ?? "";
      return problem(
        "name_invalid",
        `tool name ${JSON.stringify(name.slice(0, 64))} is invalid; use lowercase a-z, 0-9 and "_", with at most one "." (e.g. "notes.add")`,
      );
    }
    const extra = typeof params.additionalProperty === "string" ? ` ("${params.additionalProperty}")` : "";
    return problem(
      "manifest_invalid",
      `manifest.json ${e.instancePath === "" ? "/" : e.instancePath} ${e.message ?? "is invalid"}${extra}`,
    );
  });
}

/** Compiles a schema with unknown keywords refused, so a typo cannot silently leave a rule out. */
function compileProblem(schema: unknown, label: string): PluginProblem | null {
  strictAjv ??= new Ajv({
    strictSchema: true,
    strictNumbers: true,
    strictTypes: false,
    strictTuples: false,
    strictRequired: false,
    validateFormats: false,
    logger: false,
  });
  try {
    strictAjv.compile(schema as object);
    return null;
  } catch (error) {
    const reason = (error as Error).message.split("\n")[0]?.slice(0, 200) ?? "invalid";
    return problem("manifest_invalid", `${label} is not a valid JSON Schema: ${reason}`);
  }
}

export function checkPluginName(name: string): PluginProblem | null {
  if (!PLUGIN_NAME.test(name)) {
    return problem(
      "name_invalid",
      `plugin name ${JSON.stringify(name.slice(0, 40))} is invalid; use 1-32 characters: a lowercase letter, then a-z, 0-9, "_" or "-"`,
    );
  }
  if (RESERVED_PLUGIN_NAMES.includes(name)) return problem("reserved_name", `plugin name "${name}" is reserved`);
  return null;
}

function topicKnown(topic: string): boolean {
  if (topic.endsWith(".*")) {
    const prefix = topic.slice(0, -1);
    return EVENT_TOPICS.some((t) => t.startsWith(prefix));
  }
  return (EVENT_TOPICS as readonly string[]).includes(topic);
}

/** Checks manifest.json's bytes for the plugin in folder `name`. */
export function checkManifest(name: string, bytes: Uint8Array | string): ManifestCheck {
  const problems: PluginProblem[] = [];
  const nameProblem = checkPluginName(name);
  if (nameProblem) problems.push(nameProblem);
  const size = typeof bytes === "string" ? Buffer.byteLength(bytes) : bytes.length;
  if (size > MAX_MANIFEST_BYTES) {
    problems.push(problem("too_large", `manifest.json is ${size} bytes; at most ${MAX_MANIFEST_BYTES} are allowed`));
    return { manifest: null, problems };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof bytes === "string" ? bytes : new TextDecoder().decode(bytes));
  } catch (error) {
    const reason = (error as Error).message.slice(0, 120);
    problems.push(problem("manifest_invalid", `manifest.json is not valid JSON: ${reason}`));
    return { manifest: null, problems };
  }
  const shape = validateManifestShape(parsed);
  if (shape.length > 0) {
    // A bad tool name is the more specific finding; show it first.
    shape.sort((a, b) => Number(b.category === "name_invalid") - Number(a.category === "name_invalid"));
    problems.push(...shape);
    return { manifest: null, problems };
  }
  const manifest = parsed as Manifest;
  for (const { key } of manifest.install?.credentials ?? []) {
    const reserved = reservedCredentialReason(key);
    if (reserved) problems.push(problem("reserved_name", `credential "${key}": ${reserved}`));
  }
  const seen = new Set<string>();
  for (const tool of manifest.provides.tools ?? []) {
    const reserved = reservedToolReason(tool.name);
    if (reserved) problems.push(problem("reserved_name", `tool "${tool.name}": ${reserved}`));
    if (seen.has(tool.name)) problems.push(problem("duplicate_tool", `tool "${tool.name}" is declared twice`));
    seen.add(tool.name);
    const label = `tool "${tool.name}" arguments_schema`;
    const rules = checkSchemaRules(tool.arguments_schema, label);
    problems.push(...rules);
    if (rules.length === 0) {
      const compiled = compileProblem(tool.arguments_schema, label);
      if (compiled) problems.push(compiled);
    }
  }
  if (manifest.config_schema !== undefined) {
    const rules = checkSchemaRules(manifest.config_schema, "config_schema");
    problems.push(...rules);
    if (rules.length === 0) {
      const compiled = compileProblem(manifest.config_schema, "config_schema");
      if (compiled) problems.push(compiled);
    }
  }
  for (const topic of manifest.subscribes ?? []) {
    if (!topicKnown(topic)) {
      problems.push(problem("manifest_invalid", `subscribes names the unknown topic "${topic}"`));
    }
  }
  return { manifest: problems.length === 0 ? manifest : null, problems };
}

/** Tools of `manifest` already provided by another plugin (`taken`: tool name → plugin name). */
export function toolCollisions(
  manifest: Manifest,
  taken: ReadonlyMap<string, string>,
  ownName: string,
): PluginProblem[] {
  const out: PluginProblem[] = [];
  for (const tool of manifest.provides.tools ?? []) {
    const owner = taken.get(tool.name);
    if (owner !== undefined && owner !== ownName) {
      out.push(problem("duplicate_tool", `tool "${tool.name}" is already provided by plugin "${owner}"`));
    }
  }
  return out;
}
