import type { TomlTable } from "smol-toml";
import { EXIT } from "../errors/user-error.ts";
import { isGroupName } from "../protocol/group-name.ts";
import { writeFileAtomic } from "./atomic-write.ts";
import { ConfigError } from "./config-error.ts";
import { closest, expectedType, inTable, isSection } from "./describe.ts";
import { ensureHome } from "./home.ts";
import { type Config, GROUP_KEYS, GROUP_NAME_HINT, type KeySpec, SECTION_KEYS, SECTION_NAMES } from "./keys.ts";
import { groupSettings, mergeConfig, readConfigFile, type UserConfig } from "./load.ts";
import { setTomlValue, type TomlScalar } from "./toml-edit.ts";
import { assertValidConfig } from "./validate.ts";

/** Key paths, value coercion and the read/write operations behind `carapace config`. */

export interface KeyRef {
  /** "security.max_frame_bytes", "groups.work.policy". */
  name: string;
  /** The TOML table holding the key: ["security"], ["groups", "work"]. */
  table: string[];
  key: string;
  spec: KeySpec;
}

function unknownKey(name: string, table: string[], valid: readonly string[]): ConfigError {
  const prefix = table.length === 0 ? "" : `${table.join(".")}.`;
  const guess = closest(name.slice(prefix.length), valid);
  return new ConfigError(
    name,
    `unknown key "${name}"; valid keys ${inTable(table)}: ${valid.join(", ")}`,
    guess === undefined
      ? "use one of those (`carapace config list` shows every key)"
      : `did you mean "${prefix}${guess}"? (\`carapace config list\` shows every key)`,
    EXIT.usage,
  );
}

/** Parses a dotted key name; unknown keys are a usage error that lists the valid keys at that level. */
export function resolveKey(name: string): KeyRef {
  const parts = name.split(".");
  const [top, second, third] = parts;
  if (isSection(top)) {
    const keys = SECTION_KEYS[top] as Record<string, KeySpec>;
    const spec = second === undefined ? undefined : keys[second];
    if (spec === undefined || parts.length !== 2) throw unknownKey(name, [top], Object.keys(keys));
    return { name, table: [top], key: second as string, spec };
  }
  if (top === "groups") {
    if (second === undefined || !isGroupName(second)) {
      throw new ConfigError(
        name,
        `"${name}" does not name a group key; group keys are groups.<name>.<key>`,
        `use a group name of ${GROUP_NAME_HINT}, e.g. groups.work.policy`,
        EXIT.usage,
      );
    }
    const spec = third === undefined ? undefined : (GROUP_KEYS as Record<string, KeySpec>)[third];
    if (spec === undefined || parts.length !== 3) throw unknownKey(name, ["groups", second], Object.keys(GROUP_KEYS));
    return { name, table: ["groups", second], key: third as string, spec };
  }
  throw unknownKey(name, [], [...SECTION_NAMES, "groups.<name>"]);
}

/** Turns command-line text into the key's type: numbers, true/false, and JSON arrays for lists. */
export function coerceValue(ref: KeyRef, raw: string): TomlScalar {
  const { spec } = ref;
  const refuse = (example: string) =>
    new ConfigError(
      ref.name,
      `"${ref.name}" must be ${expectedType(spec)}, but "${raw.slice(0, 60)}" was given`,
      `for example \`carapace config set ${ref.name} ${example}\`; config.toml was not changed`,
      EXIT.usage,
    );
  switch (spec.kind) {
    case "string":
    case "enum":
      return raw;
    case "integer": {
      if (!/^[+-]?\d+$/.test(raw.trim())) throw refuse(String(spec.default));
      return Number(raw.trim());
    }
    case "boolean": {
      const text = raw.trim().toLowerCase();
      if (text === "true") return true;
      if (text === "false") return false;
      throw refuse(String(!spec.default));
    }
    case "string-list": {
      const example = `'${JSON.stringify(spec.default.length > 0 ? spec.default : ["name"])}'`;
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw);
      } catch {
        throw refuse(example);
      }
      if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === "string")) throw refuse(example);
      return parsed;
    }
  }
}

export interface SetResult {
  ref: KeyRef;
  value: TomlScalar;
  path: string;
  /** False when comments and layout could not be kept (see docs/HOME.md). */
  preserved: boolean;
  created: boolean;
}

/**
 * Sets one key in config.toml: validates the whole resulting configuration first (nothing is written
 * when it is invalid), keeps the file's comments and layout where it can, writes atomically with 0600.
 */
/**
 * `check` sees the whole configuration as it would be after the change and throws to refuse it
 * (rules that span keys and live above this layer, such as the upstream being in the allowlist).
 */
export function setConfigValue(home: string, name: string, raw: string, check?: (next: Config) => void): SetResult {
  const ref = resolveKey(name);
  const value = coerceValue(ref, raw);
  const file = readConfigFile(home);
  const next = structuredClone(file.user) as Record<string, Record<string, unknown>>;
  let table = next;
  for (const segment of ref.table) {
    table[segment] ??= {};
    table = table[segment] as Record<string, Record<string, unknown>>;
  }
  (table as Record<string, unknown>)[ref.key] = value;
  assertValidConfig(next, { location: "on the command line; config.toml was not changed", exitCode: EXIT.usage });
  check?.(mergeConfig(next as UserConfig));
  const edit = setTomlValue(file.text ?? "", ref.table, ref.key, value, next as TomlTable);
  ensureHome(home);
  writeFileAtomic(file.path, edit.text, 0o600);
  return { ref, value, path: file.path, preserved: edit.preserved, created: file.text === null };
}

export interface ConfigEntry {
  key: string;
  value: TomlScalar;
  /** "inherited": a group key the group does not set, taking the [security] (or [budget]) value. */
  source: "default" | "user" | "inherited";
}

function groupSource(user: UserConfig, ref: KeyRef): ConfigEntry["source"] {
  if (userValue(user, ref) !== undefined) return "user";
  return ref.key in SECTION_KEYS.security || ref.key.startsWith("daily_") || ref.key.startsWith("history_")
    ? "inherited"
    : "default";
}

function userValue(user: UserConfig, ref: KeyRef): TomlScalar | undefined {
  let node: unknown = user;
  for (const segment of [...ref.table, ref.key]) node = (node as Record<string, unknown> | undefined)?.[segment];
  return node as TomlScalar | undefined;
}

function entriesOf(user: UserConfig): ConfigEntry[] {
  const config = mergeConfig(user);
  const entries: ConfigEntry[] = [];
  for (const section of SECTION_NAMES) {
    for (const [key, value] of Object.entries(config[section])) {
      const ref = resolveKey(`${section}.${key}`);
      entries.push({ key: ref.name, value, source: userValue(user, ref) === undefined ? "default" : "user" });
    }
  }
  for (const group of Object.keys(config.groups).sort()) {
    for (const [key, value] of Object.entries(groupSettings(config, group))) {
      const ref = resolveKey(`groups.${group}.${key}`);
      entries.push({ key: ref.name, value, source: groupSource(user, ref) });
    }
  }
  return entries;
}

/** Every key with its effective value and whether config.toml sets it. */
export function listConfig(home: string): ConfigEntry[] {
  return entriesOf(readConfigFile(home).user);
}

/**
 * One key, or every key under a table ("security", "groups.work"). Group keys a group does not set
 * show what it inherits from [security] (or the default policy).
 */
export function getConfig(home: string, name: string): ConfigEntry[] {
  const user = readConfigFile(home).user;
  const parts = name.split(".");
  const isTable =
    isSection(name) || name === "groups" || (parts.length === 2 && parts[0] === "groups" && isGroupName(parts[1]));
  if (isTable) {
    const withGroup =
      parts.length === 2 && !(user.groups?.[parts[1] as string] !== undefined)
        ? { ...user, groups: { ...user.groups, [parts[1] as string]: {} } }
        : user;
    return entriesOf(withGroup).filter((entry) => entry.key.startsWith(`${name}.`));
  }
  const ref = resolveKey(name);
  const own = userValue(user, ref);
  if (own !== undefined) return [{ key: ref.name, value: own, source: "user" }];
  const config = mergeConfig(user);
  if (ref.table[0] === "groups") {
    const value = groupSettings(config, ref.table[1] as string)[ref.key as keyof typeof GROUP_KEYS];
    return [{ key: ref.name, value, source: groupSource(user, ref) }];
  }
  const value = (config[ref.table[0] as keyof typeof SECTION_KEYS] as Record<string, TomlScalar>)[ref.key];
  return [{ key: ref.name, value: value as TomlScalar, source: "default" }];
}
