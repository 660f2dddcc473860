import type { JsonSchema } from "../../src/plugins/catalog.ts";
import type { FailureCategory } from "../../src/plugins/failure.ts";
import type { Manifest, ManifestTool } from "../../src/plugins/manifest-schema.ts";

/** A tool declaration whose arguments schema is closed at every level. */
export function manifestTool(overrides: Partial<ManifestTool> = {}): ManifestTool {
  return {
    name: "notes.add",
    description: "Adds a note.",
    risk_level: "low",
    arguments_schema: {
      type: "object",
      additionalProperties: false,
      required: ["text"],
      properties: {
        text: { type: "string", minLength: 1, maxLength: 200 },
        tags: { type: "array", maxItems: 4, items: { type: "string", maxLength: 32 } },
      },
    },
    ...overrides,
  };
}

/** A manifest that passes checkManifest (for a plugin folder named like `MANIFEST_PLUGIN_NAME`). */
export function manifest(overrides: Partial<Manifest> = {}): Manifest {
  return {
    description: "Notes for tests.",
    version: "1.0.0",
    author: "Carapace tests",
    provides: { tools: [manifestTool()] },
    allowed_groups: ["*"],
    ...overrides,
  };
}

export const MANIFEST_PLUGIN_NAME = "notes";

/** manifest.json's bytes as the loader reads them. */
export function manifestJson(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

/** The ways a manifest can be hostile, one at a time, each with the category checkManifest must report. */
export const MANIFEST_ATTACKS = {
  /** An object schema without `additionalProperties: false` lets unknown keys through stage 3. */
  open_arguments: "schema_open",
  /** A nested object left open, one level down. */
  open_nested_object: "schema_open",
  /** `$ref` could point anywhere (or recurse). */
  schema_ref: "schema_ref",
  /** A top-level key the manifest schema does not name. */
  unknown_key: "manifest_invalid",
  /** A tool in a namespace the core keeps for itself. */
  reserved_tool: "reserved_name",
  /** The core's own intrinsic tool name. */
  intrinsic_tool: "reserved_name",
  /** Two tools with one name. */
  duplicate_tool: "duplicate_tool",
  /** A tool name with a path separator. */
  bad_tool_name: "name_invalid",
  /** Nesting deeper than the schema rules allow. */
  deep_schema: "schema_too_complex",
  /** More than 64 KiB of manifest. */
  oversized: "too_large",
} as const satisfies Record<string, FailureCategory>;

export type ManifestAttack = keyof typeof MANIFEST_ATTACKS;

function nested(depth: number): JsonSchema {
  let schema: JsonSchema = { type: "string" };
  for (let i = 0; i < depth; i++) {
    schema = { type: "object", additionalProperties: false, properties: { inner: schema } };
  }
  return schema;
}

/** A valid manifest made malicious in exactly one way; `category` is what the loader must refuse it with. */
export function maliciousManifest(attack: ManifestAttack): { value: unknown; category: FailureCategory } {
  const base = manifest();
  const toolWith = (schema: JsonSchema): Manifest => ({
    ...base,
    provides: { tools: [manifestTool({ arguments_schema: schema })] },
  });
  const value = ((): unknown => {
    switch (attack) {
      case "open_arguments":
        return toolWith({ type: "object", properties: { text: { type: "string" } } });
      case "open_nested_object":
        return toolWith({
          type: "object",
          additionalProperties: false,
          properties: { options: { type: "object", properties: { any: { type: "string" } } } },
        });
      case "schema_ref":
        return toolWith({
          type: "object",
          additionalProperties: false,
          properties: { text: { type: "string", $ref: "#/properties/text" } },
        });
      case "unknown_key":
        return { ...base, permissions: ["all"] };
      case "reserved_tool":
        return { ...base, provides: { tools: [manifestTool({ name: "core.shutdown" })] } };
      case "intrinsic_tool":
        return { ...base, provides: { tools: [manifestTool({ name: "get_session_info" })] } };
      case "duplicate_tool":
        return { ...base, provides: { tools: [manifestTool(), manifestTool()] } };
      case "bad_tool_name":
        return { ...base, provides: { tools: [manifestTool({ name: "../escape" })] } };
      case "deep_schema":
        return toolWith(nested(12));
      case "oversized":
        return { ...base, description: "x".repeat(70 * 1024) };
    }
  })();
  return { value, category: MANIFEST_ATTACKS[attack] };
}
