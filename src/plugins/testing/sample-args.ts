/**
 * Argument objects the conformance suite calls every tool with: the smallest object a tool's schema
 * accepts (required properties only, each at its lower bound), and one the schema refuses.
 */
type Schema = Record<string, unknown>;

const asSchema = (v: unknown): Schema =>
  typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Schema) : {};

function firstType(schema: Schema): string | undefined {
  const t = schema.type;
  if (typeof t === "string") return t;
  if (Array.isArray(t)) return t.find((x) => x !== "null") ?? t[0];
  if (schema.properties || schema.required) return "object";
  return undefined;
}

function minimalNumber(schema: Schema, integer: boolean): number {
  const min = typeof schema.minimum === "number" ? schema.minimum : undefined;
  const exMin = typeof schema.exclusiveMinimum === "number" ? schema.exclusiveMinimum : undefined;
  const max = typeof schema.maximum === "number" ? schema.maximum : undefined;
  let n = min ?? (exMin !== undefined ? exMin + (integer ? 1 : 0.5) : 0);
  if (max !== undefined && n > max) n = max;
  if (integer) n = Math.ceil(n);
  const step = typeof schema.multipleOf === "number" && schema.multipleOf > 0 ? schema.multipleOf : undefined;
  if (step !== undefined) n = Math.ceil(n / step) * step;
  return n;
}

/** The smallest value `schema` accepts (best effort: a pattern or format may still refuse it). */
export function minimalValue(schemaIn: unknown, depth = 0): unknown {
  const schema = asSchema(schemaIn);
  if ("const" in schema) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  if ("default" in schema) return schema.default;
  for (const key of ["anyOf", "oneOf"] as const) {
    const options = schema[key];
    if (Array.isArray(options) && options.length > 0) return minimalValue(options[0], depth + 1);
  }
  if (depth > 16) return null;
  switch (firstType(schema)) {
    case "object": {
      const props = asSchema(schema.properties);
      const required = Array.isArray(schema.required) ? schema.required.filter((k) => typeof k === "string") : [];
      const out: Record<string, unknown> = {};
      for (const key of required) out[key] = minimalValue(props[key], depth + 1);
      return out;
    }
    case "array": {
      const count = typeof schema.minItems === "number" ? schema.minItems : 0;
      return Array.from({ length: count }, (_, i) =>
        schema.uniqueItems ? minimalUnique(schema.items, i, depth) : minimalValue(schema.items, depth + 1),
      );
    }
    case "string":
      return "a".repeat(typeof schema.minLength === "number" ? Math.max(schema.minLength, 1) : 1);
    case "integer":
      return minimalNumber(schema, true);
    case "number":
      return minimalNumber(schema, false);
    case "boolean":
      return false;
    case "null":
      return null;
    default:
      return null;
  }
}

function minimalUnique(items: unknown, i: number, depth: number): unknown {
  const base = minimalValue(items, depth + 1);
  if (typeof base === "string") return `${base}${i}`;
  if (typeof base === "number") return base + i;
  return base;
}

/** An object the (closed) schema refuses: a property it does not name, plus every required one missing. */
export function invalidArguments(): Record<string, unknown> {
  return { conformance_unexpected_property: ["not", "allowed"] };
}
