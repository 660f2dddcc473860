import Ajv, { type ErrorObject, type ValidateFunction } from "ajv";
import { EXIT, type ExitCode } from "../errors/user-error.ts";
import { ConfigError } from "./config-error.ts";
import { closest, describeValue, expectedType, inTable, specAt, tableLabel, validKeysAt } from "./describe.ts";
import { GROUP_NAME_HINT, type KeySpec } from "./keys.ts";
import { buildConfigSchema } from "./schema.ts";

let compiled: ValidateFunction | undefined;

/** Compiled on first use and kept: ajv.compile costs 25-40 ms, which commands that never read config skip. */
function validator(): ValidateFunction {
  compiled ??= new Ajv({ allErrors: false, strict: true }).compile(buildConfigSchema());
  return compiled;
}

export interface ValidateOptions {
  /** Where the values came from, completing the Fix text: "in /home/me/.carapace/config.toml". */
  location: string;
  exitCode?: ExitCode;
}

/** Throws a ConfigError describing the first problem in `value` (the parsed config.toml). */
export function assertValidConfig(value: unknown, options: ValidateOptions): void {
  const validate = validator();
  if (validate(value)) return;
  const error = validate.errors?.[0];
  if (error === undefined) throw new ConfigError("", "the configuration is invalid", `correct it ${options.location}`);
  throw toConfigError(error, value, options);
}

function pathOf(instancePath: string): string[] {
  return instancePath === ""
    ? []
    : instancePath
        .slice(1)
        .split("/")
        .map((s) => s.replaceAll("~1", "/").replaceAll("~0", "~"));
}

function valueAt(root: unknown, path: readonly string[]): unknown {
  let node = root;
  for (const segment of path) node = (node as Record<string, unknown> | undefined)?.[segment];
  return node;
}

function dotted(path: readonly string[]): string {
  let out = "";
  for (const segment of path) {
    if (/^\d+$/.test(segment)) out += `[${segment}]`;
    else out += out === "" ? segment : `.${segment}`;
  }
  return out;
}

function toConfigError(error: ErrorObject, root: unknown, options: ValidateOptions): ConfigError {
  const exitCode = options.exitCode ?? EXIT.failure;
  const path = pathOf(error.instancePath);
  if (error.keyword === "additionalProperties") {
    const extra = String((error.params as { additionalProperty: string }).additionalProperty);
    const key = dotted([...path, extra]);
    if (path.length === 1 && path[0] === "groups") {
      return new ConfigError(
        key,
        `"${extra}" is not a valid group name in [groups]`,
        `rename [groups.${extra}] ${options.location} using ${GROUP_NAME_HINT}`,
        exitCode,
      );
    }
    if (path.length === 2 && path[0] === "mcp") {
      return new ConfigError(
        key,
        `"${extra}" is not a valid MCP server name in [mcp.servers]`,
        `rename [mcp.servers.${extra}] ${options.location}: a lowercase letter, then up to 31 of a-z, 0-9 and _`,
        exitCode,
      );
    }
    const valid = validKeysAt(path);
    const guess = closest(extra, valid);
    return new ConfigError(
      key,
      `unknown key "${key}"; valid keys ${inTable(path)}: ${valid.join(", ")}`,
      guess === undefined
        ? `remove "${key}" ${options.location}`
        : `write "${dotted([...path, guess])}" instead of "${key}" ${options.location}`,
      exitCode,
    );
  }
  const key = dotted(path);
  if (path[0] === "mcp") {
    return new ConfigError(
      key,
      `"${key}" ${error.message ?? "is invalid"} (see docs/MCP.md)`,
      `correct "${key}" ${options.location}`,
      exitCode,
    );
  }
  const actual = describeValue(valueAt(root, path));
  const keyPath = /\[\d+\]$/.test(key) ? path.slice(0, -1) : path;
  const spec = specAt(keyPath);
  if (spec === undefined) {
    // A table is where a value was written, or the reverse.
    return new ConfigError(
      key,
      `"${key}" must be a table (${tableLabel(path)}) with keys ${validKeysAt(path).join(", ")}, but is ${actual}`,
      `correct "${key}" ${options.location}`,
      exitCode,
    );
  }
  const subject = keyPath.length === path.length ? `"${key}"` : `each item of "${dotted(keyPath)}" (${key})`;
  const expected = keyPath.length === path.length ? expectedType(spec) : itemExpectation(spec);
  return new ConfigError(
    key,
    `${subject} must be ${expected}, but is ${actual}`,
    `correct "${dotted(keyPath)}" ${options.location}`,
    exitCode,
  );
}

function itemExpectation(spec: KeySpec): string {
  if (spec.kind !== "string-list" || spec.itemPatternHint === undefined) return "a non-empty string";
  return `a non-empty string, ${spec.itemPatternHint}`;
}
