/**
 * Manifest security rules for a tool's arguments_schema (and a plugin's config_schema): closed at every depth,
 * bounded in depth, width and size, and free of references. A schema passing these rules cannot let
 * an unexpected key, an arbitrary nested object or a recursive structure through stage 3.
 */
import { escapePointer } from "../protocol/wire.ts";
import { type PluginProblem, problem } from "./failure.ts";

export const MAX_SCHEMA_DEPTH = 8;
export const MAX_PROPERTIES_PER_OBJECT = 64;
export const MAX_SCHEMA_NODES = 512;

/** Subschemas that validate a value of their own (a property, an element). */
const VALUE_MAPS = ["properties", "patternProperties"] as const;
const VALUE_SINGLES = ["additionalItems"] as const;
const VALUE_LISTS = ["prefixItems"] as const;
/** Subschemas that test the same value as their parent. */
const SAME_VALUE_LISTS = ["allOf", "anyOf", "oneOf"] as const;
const SAME_VALUE_SINGLES = ["then", "else"] as const;
/** Subschemas that only ever answer yes or no, never admit a value on their own. */
const TEST_SINGLES = ["not", "if", "propertyNames", "contains", "unevaluatedItems", "unevaluatedProperties"] as const;
const TEST_MAPS = ["dependentSchemas", "$defs", "definitions"] as const;
const REFERENCE_KEYWORDS = ["$ref", "$dynamicRef", "$recursiveRef"];
/** `$id`/`$anchor` would register schemas in the validator shared by every tool; `$schema` picks a dialect. */
const IDENTITY_KEYWORDS = ["$id", "$anchor", "$dynamicAnchor", "$recursiveAnchor", "$schema", "$vocabulary"];

interface Walk {
  label: string;
  nodes: number;
  problems: PluginProblem[];
}

function typesOf(node: Record<string, unknown>): string[] | null {
  if (typeof node.type === "string") return [node.type];
  if (Array.isArray(node.type)) return node.type.filter((t): t is string => typeof t === "string");
  return null;
}

function hasBranches(node: Record<string, unknown>): boolean {
  return ["anyOf", "oneOf", "allOf"].some((k) => Array.isArray(node[k]) && (node[k] as unknown[]).length > 0);
}

/** Checks one schema tree; returns every problem found (the first is the plugin's failure). */
export function checkSchemaRules(schema: unknown, label: string): PluginProblem[] {
  const walk: Walk = { label, nodes: 0, problems: [] };
  if (typeof schema !== "object" || schema === null || Array.isArray(schema)) {
    return [problem("manifest_invalid", `${label} must be a JSON Schema object`)];
  }
  const root = schema as Record<string, unknown>;
  if (root.type !== "object") {
    walk.problems.push(problem("manifest_invalid", `${label} must have "type": "object" at its root`));
  }
  visit(root, "", 0, "value", walk);
  return walk.problems;
}

/**
 * `value` subschemas admit a value on their own and must be closed; `test` subschemas only narrow a
 * value some `value` schema already admits, so they need no closing (but still no references).
 */
type Mode = "value" | "test";

function visit(node: unknown, pointer: string, depth: number, mode: Mode, walk: Walk): void {
  const at = `${walk.label} at ${pointer === "" ? "/" : pointer}`;
  const fail = (category: PluginProblem["category"], what: string) =>
    walk.problems.push(problem(category, `${at} ${what}`));
  if (walk.problems.length >= 20) return;
  walk.nodes += 1;
  if (walk.nodes > MAX_SCHEMA_NODES) {
    if (walk.nodes === MAX_SCHEMA_NODES + 1)
      fail("schema_too_complex", `exceeds ${MAX_SCHEMA_NODES} subschemas; split the tool or simplify its arguments`);
    return;
  }
  if (depth > MAX_SCHEMA_DEPTH) {
    return void fail("schema_too_complex", `nests deeper than ${MAX_SCHEMA_DEPTH} levels`);
  }
  if (typeof node === "boolean") {
    if (node && mode === "value") fail("schema_open", "is `true`, which accepts any value; give it a type");
    return;
  }
  if (typeof node !== "object" || node === null || Array.isArray(node)) {
    return void fail("manifest_invalid", "is not a JSON Schema (expected an object)");
  }
  const schema = node as Record<string, unknown>;
  for (const k of REFERENCE_KEYWORDS) {
    if (k in schema) fail("schema_ref", `uses "${k}"; references are not allowed, write the schema out in full`);
  }
  for (const k of IDENTITY_KEYWORDS) {
    if (k in schema) fail("manifest_invalid", `uses "${k}", which is not allowed in a tool schema`);
  }

  const types = typesOf(schema);
  const ownConstraint = types !== null || "enum" in schema || "const" in schema;
  if (mode === "value") {
    if (!ownConstraint && !hasBranches(schema)) {
      fail("schema_open", 'accepts any value; give it a "type" (objects also need "additionalProperties": false)');
    } else if (types?.includes("object") && schema.additionalProperties !== false) {
      fail("schema_open", 'is an object schema without "additionalProperties": false');
    }
    if (types?.includes("array") && !("items" in schema) && schema.prefixItems === undefined) {
      fail("schema_open", 'is an array schema without "items"; say what its elements are');
    }
  }
  // Branches carry the constraint when the node has none of its own: then each must be closed.
  const branchMode: Mode = mode === "value" && !ownConstraint ? "value" : "test";

  const child = (sub: unknown, path: string, childMode: Mode) =>
    visit(sub, `${pointer}${path}`, depth + 1, childMode, walk);
  const maps = (keys: readonly string[], childMode: Mode) => {
    let width = 0;
    for (const key of keys) {
      const map = schema[key];
      if (map === undefined) continue;
      if (typeof map !== "object" || map === null || Array.isArray(map)) {
        fail("manifest_invalid", `has "${key}" that is not an object`);
        continue;
      }
      width += Object.keys(map).length;
      for (const [name, sub] of Object.entries(map)) child(sub, `/${key}/${escapePointer(name)}`, childMode);
    }
    return width;
  };
  const lists = (keys: readonly string[], childMode: Mode) => {
    for (const key of keys) {
      const list = schema[key];
      if (list === undefined) continue;
      if (!Array.isArray(list)) fail("manifest_invalid", `has "${key}" that is not an array`);
      else for (const [i, sub] of list.entries()) child(sub, `/${key}/${i}`, childMode);
    }
  };
  const singles = (keys: readonly string[], childMode: Mode) => {
    for (const key of keys) if (schema[key] !== undefined) child(schema[key], `/${key}`, childMode);
  };

  const width = maps(VALUE_MAPS, mode);
  if (width > MAX_PROPERTIES_PER_OBJECT) {
    fail("schema_too_complex", `declares ${width} properties; at most ${MAX_PROPERTIES_PER_OBJECT} per object`);
  }
  maps(TEST_MAPS, "test");
  if (Array.isArray(schema.items)) lists(["items"], mode);
  else singles(["items"], mode);
  singles(VALUE_SINGLES, mode);
  lists(VALUE_LISTS, mode);
  if (typeof schema.additionalProperties === "object") singles(["additionalProperties"], "test");
  lists(SAME_VALUE_LISTS, branchMode);
  singles(SAME_VALUE_SINGLES, branchMode);
  singles(TEST_SINGLES, "test");
}
