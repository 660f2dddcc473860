import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { HOME_LAYOUT } from "../../src/config/home.ts";
import {
  checkManifest,
  checkPluginName,
  MAX_MANIFEST_BYTES,
  toolCollisions,
} from "../../src/plugins/manifest-check.ts";
import type { Manifest } from "../../src/plugins/manifest-schema.ts";
import { checkSchemaRules, MAX_PROPERTIES_PER_OBJECT, MAX_SCHEMA_DEPTH } from "../../src/plugins/schema-rules.ts";

const ROOT = join(import.meta.dir, "../..");

function manifestWith(schema: unknown, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    description: "d",
    version: "1.0.0",
    provides: { tools: [{ name: "probe.run", description: "d", risk_level: "low", arguments_schema: schema }] },
    ...extra,
  });
}

const closed = (properties: Record<string, unknown> = {}) => ({
  type: "object",
  additionalProperties: false,
  properties,
});

function nested(levels: number): Record<string, unknown> {
  let schema: Record<string, unknown> = { type: "string" };
  for (let i = 0; i < levels; i++) schema = closed({ inner: schema });
  return schema;
}

describe("manifests that must pass", () => {
  test("the built-in memory plugin's manifest", () => {
    const result = checkManifest("memory", readFileSync(join(ROOT, "plugins/memory/manifest.json")));
    expect(result.problems).toEqual([]);
    expect(result.manifest?.provides.tools?.map((t) => t.name)).toEqual([
      "memory_store",
      "memory_search",
      "memory_brief",
      "memory_delete",
    ]);
  });

  test("closed schemas using branches, tests and unions", () => {
    const schema = {
      ...closed({
        a: { type: ["string", "null"], maxLength: 5 },
        b: { type: "integer", not: { const: 3 } },
        c: { anyOf: [{ type: "string" }, closed({ x: { type: "number" } })] },
        d: { type: "array", items: { enum: ["x", "y"] }, contains: { const: "x" } },
        e: {
          type: "object",
          additionalProperties: false,
          patternProperties: { "^k": { type: "boolean" } },
          propertyNames: { pattern: "^k" },
        },
      }),
      // Branches of a closed object only narrow it: they need no closing of their own.
      anyOf: [{ required: ["a"] }, { required: ["b"] }],
      if: { properties: { a: { const: "x" } } },
    };
    // `then` is a JSON Schema keyword here; parsed from text so no object literal defines a thenable.
    Object.assign(schema, JSON.parse('{"then": {"required": ["b"]}}'));
    expect(checkSchemaRules(schema, "s")).toEqual([]);
    expect(checkManifest("probe", manifestWith(schema)).problems).toEqual([]);
  });

  test("exactly at the limits: depth and properties per object", () => {
    const wide: Record<string, unknown> = {};
    for (let i = 0; i < MAX_PROPERTIES_PER_OBJECT; i++) wide[`p${i}`] = { type: "string" };
    expect(checkSchemaRules(closed(wide), "s")).toEqual([]);
    expect(checkSchemaRules(nested(MAX_SCHEMA_DEPTH), "s")).toEqual([]);
    expect(checkSchemaRules(nested(MAX_SCHEMA_DEPTH + 1), "s")[0]?.category).toBe("schema_too_complex");
  });

  test("a manifest of exactly 64 KiB is accepted, one byte more is too large", () => {
    const base = manifestWith(closed());
    const exact = base + " ".repeat(MAX_MANIFEST_BYTES - base.length);
    expect(checkManifest("probe", exact).problems).toEqual([]);
    expect(checkManifest("probe", `${exact} `).problems[0]?.category).toBe("too_large");
  });
});

describe("manifests that must fail, with a specific message", () => {
  const cases: [string, string | Record<string, unknown>, string, string][] = [
    [
      "open object in oneOf of a type-less value",
      closed({ v: { oneOf: [{ type: "object" }, { type: "string" }] } }),
      "schema_open",
      "/properties/v/oneOf/0",
    ],
    [
      "open object in allOf of a type-less value",
      closed({ v: { allOf: [{ type: "object" }] } }),
      "schema_open",
      "/properties/v/allOf/0",
    ],
    [
      "open object in tuple items",
      closed({ t: { type: "array", items: [{ type: "object" }] } }),
      "schema_open",
      "/properties/t/items/0",
    ],
    [
      "open object in prefixItems",
      closed({ t: { type: "array", prefixItems: [{ type: "object" }], items: false } }),
      "schema_open",
      "/properties/t/prefixItems/0",
    ],
    [
      "open object in additionalItems",
      closed({ t: { type: "array", items: [{ type: "string" }], additionalItems: { type: "object" } } }),
      "schema_open",
      "/additionalItems",
    ],
    [
      "not alone admits anything",
      closed({ n: { not: { type: "string" } } }),
      "schema_open",
      "/properties/n accepts any value",
    ],
    ["$ref hidden inside a test branch", { ...closed(), if: { $ref: "#" } }, "schema_ref", "/if"],
    ["$dynamicRef", closed({ d: { $dynamicRef: "#x" } }), "schema_ref", '"$dynamicRef"'],
    [
      "$schema picks another dialect",
      { ...closed(), $schema: "http://json-schema.org/draft-04/schema#" },
      "manifest_invalid",
      '"$schema"',
    ],
    ["root is not an object schema", { type: "string" }, "manifest_invalid", 'must have "type": "object" at its root'],
    [
      "too many subschemas",
      closed(
        Object.fromEntries(
          Array.from({ length: 60 }, (_, i) => [
            `p${i}`,
            { anyOf: Array.from({ length: 9 }, () => ({ type: "string" })) },
          ]),
        ),
      ),
      "schema_too_complex",
      "subschemas",
    ],
  ];
  for (const [what, schema, category, includes] of cases) {
    test(what, () => {
      const { manifest, problems } = checkManifest("probe", manifestWith(schema));
      expect(manifest).toBeNull();
      expect(problems[0]?.category).toBe(category as never);
      expect(problems[0]?.message).toContain(includes);
    });
  }

  test("a tool name longer than 64 characters", () => {
    const text = JSON.stringify({
      description: "d",
      version: "1.0.0",
      provides: { tools: [{ name: "a".repeat(65), description: "d", risk_level: "low", arguments_schema: closed() }] },
    });
    expect(checkManifest("probe", text).problems[0]?.category).toBe("manifest_invalid");
  });

  test("risk_level other than low|high, and a missing version", () => {
    const risky = JSON.parse(manifestWith(closed()));
    risky.provides.tools[0].risk_level = "medium";
    expect(checkManifest("probe", JSON.stringify(risky)).problems[0]?.message).toContain(
      "/provides/tools/0/risk_level",
    );
    const { version: _v, ...noVersion } = JSON.parse(manifestWith(closed()));
    expect(checkManifest("probe", JSON.stringify(noVersion)).problems[0]?.message).toContain("version");
  });

  test("a credential key with a path in it", () => {
    const text = manifestWith(closed(), { install: { credentials: [{ key: "../../etc/shadow" }] } });
    expect(checkManifest("probe", text).problems[0]).toMatchObject({ category: "manifest_invalid" });
  });

  test("tools already provided by another plugin collide; a plugin may keep its own names on override", () => {
    const manifest = JSON.parse(manifestWith(closed())) as Manifest;
    expect(toolCollisions(manifest, new Map([["probe.run", "other"]]), "probe")[0]).toMatchObject({
      category: "duplicate_tool",
      message: 'tool "probe.run" is already provided by plugin "other"',
    });
    expect(toolCollisions(manifest, new Map([["probe.run", "probe"]]), "probe")).toEqual([]);
  });
});

test("plugin names whose data folder would be the agents' workspaces (or the old Claude state) are reserved", () => {
  for (const name of ["workspaces", "claude", "audit", "core"]) {
    expect(checkPluginName(name)).toMatchObject({ category: "reserved_name" });
  }
  expect(checkPluginName("workspace-notes")).toBeNull();
});

test("every data folder the core keeps for itself is a reserved plugin name (only the memory plugin owns one)", () => {
  const coreFolders = HOME_LAYOUT.filter((e) => e.kind === "dir" && e.path.startsWith("data/"))
    .map((e) => e.path.slice("data/".length))
    .filter((name) => name !== "memory");
  expect(coreFolders).toContain("conversations");
  for (const name of coreFolders) expect(checkPluginName(name)).toMatchObject({ category: "reserved_name" });
  expect(checkPluginName("conversations")).toMatchObject({ message: 'plugin name "conversations" is reserved' });
  expect(checkPluginName("mcp")).toMatchObject({ category: "reserved_name" });
});

describe("the core's own credentials cannot be declared", () => {
  for (const key of ["anthropic_api_key", "anthropic_oauth_token", "release_signing_key", "carapace_anything"]) {
    test(`"${key}" is refused as reserved_name`, () => {
      const result = checkManifest("probe", manifestWith(closed(), { install: { credentials: [{ key }] } }));
      expect(result.manifest).toBeNull();
      expect(result.problems.map((p) => p.category)).toEqual(["reserved_name"]);
      expect(result.problems[0]?.message).toContain(`credential "${key}"`);
    });
  }

  test("a plugin's own credential name passes; network is a boolean", () => {
    const ok = checkManifest(
      "probe",
      manifestWith(closed(), { install: { credentials: [{ key: "probe_token" }] }, network: true }),
    );
    expect(ok.problems).toEqual([]);
    expect(ok.manifest?.network).toBe(true);
    const bad = checkManifest("probe", manifestWith(closed(), { network: "yes" }));
    expect(bad.manifest).toBeNull();
  });
});
