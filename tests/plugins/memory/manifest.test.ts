import { describe, expect, test } from "bun:test";
import Ajv from "ajv";
import { ENTRY_LIMITS, ENTRY_TYPES } from "../../../plugins/memory/entry-types.ts";
import manifest from "../../../plugins/memory/manifest.json";

type Schema = Record<string, unknown>;

/** Every sub-schema, with its JSON pointer. */
function* walk(schema: Schema, pointer = ""): Generator<[string, Schema]> {
  yield [pointer, schema];
  const properties = schema.properties as Record<string, Schema> | undefined;
  for (const [key, child] of Object.entries(properties ?? {})) yield* walk(child, `${pointer}/properties/${key}`);
  if (schema.items && typeof schema.items === "object") yield* walk(schema.items as Schema, `${pointer}/items`);
}

const tools = manifest.provides.tools;
const toolSchema = (name: string) => tools.find((tool) => tool.name === name)?.arguments_schema as Schema;

describe("manifest", () => {
  test("has only the keys the manifest schema allows and the four tools", () => {
    const allowed = [
      "description",
      "version",
      "author",
      "provides",
      "subscribes",
      "allowed_groups",
      "config_schema",
      "install",
    ];
    for (const key of Object.keys(manifest)) expect(allowed).toContain(key);
    expect(tools.map((tool) => tool.name).sort()).toEqual([
      "memory_brief",
      "memory_delete",
      "memory_search",
      "memory_store",
    ]);
    for (const tool of tools) {
      expect(tool.name).toMatch(/^[a-z][a-z0-9_]*(\.[a-z0-9_]+)?$/);
      expect(["low", "high"]).toContain(tool.risk_level);
      expect(tool.description.length).toBeGreaterThan(10);
    }
  });

  test("every schema is closed at every depth and every string and list is bounded", () => {
    const schemas: [string, Schema][] = [
      ...tools.map((tool) => [tool.name, tool.arguments_schema as Schema] as [string, Schema]),
      ["config_schema", manifest.config_schema as Schema],
    ];
    for (const [name, root] of schemas) {
      for (const [pointer, schema] of walk(root)) {
        const where = `${name}${pointer}`;
        if (schema.type === "object") expect([where, schema.additionalProperties]).toEqual([where, false]);
        if (schema.type === "string" && !schema.enum)
          expect([where, typeof schema.maxLength]).toEqual([where, "number"]);
        if (schema.type === "array") expect([where, typeof schema.maxItems]).toEqual([where, "number"]);
        expect(JSON.stringify(schema)).not.toContain("$ref");
      }
    }
  });

  test("schemas compile in strict ajv and mirror the handler's limits", () => {
    const ajv = new Ajv({ strict: true });
    const store = ajv.compile(toolSchema("memory_store"));
    const search = ajv.compile(toolSchema("memory_search"));
    const brief = ajv.compile(toolSchema("memory_brief"));
    const del = ajv.compile(toolSchema("memory_delete"));
    ajv.compile(manifest.config_schema);

    expect(store({ type: "fact", content: "x".repeat(ENTRY_LIMITS.maxContentChars), tags: ["a"], supersedes: 3 })).toBe(
      true,
    );
    expect(store({ type: "fact", content: "x".repeat(ENTRY_LIMITS.maxContentChars + 1) })).toBe(false);
    expect(store({ type: "fact", content: "" })).toBe(false);
    expect(store({ type: "behavioral", content: "x" })).toBe(false);
    expect(store({ type: "fact", content: "x", tags: Array.from({ length: 11 }, (_, i) => `t${i}`) })).toBe(false);
    expect(store({ type: "fact", content: "x", tags: ["two words"] })).toBe(false);
    expect(store({ type: "fact", content: "x", tags: ["line\u2028sep"] })).toBe(false);
    expect(store({ type: "fact", content: "x", tags: ["x')--"] })).toBe(true);
    expect(store({ type: "fact", content: "x", session_id: "forged" })).toBe(false);
    expect(store({ type: "fact", content: "x", supersedes: 0 })).toBe(false);

    expect(search({})).toBe(true);
    expect(search({ query: "q", match: "any", types: [...ENTRY_TYPES], tags: ["a"], limit: 50 })).toBe(true);
    expect(search({ limit: 51 })).toBe(false);
    expect(search({ query: "x".repeat(ENTRY_LIMITS.maxQueryChars + 1) })).toBe(false);
    expect(search({ group: "other" })).toBe(false);

    expect(brief({})).toBe(true);
    expect(brief({ group: "other" })).toBe(false);
    expect(del({ id: 1 })).toBe(true);
    expect(del({ id: 1, group: "other" })).toBe(false);
    expect(del({ id: 1.5 })).toBe(false);
  });
});
