/**
 * JSON Schema of a plugin's manifest.json (docs/PLUGIN_AUTHORING.md). Closed at every level: a key the schema
 * does not name is an error, never ignored. The plugin's name is its folder's name, not a field.
 * The deeper manifest security rules (closed argument schemas, reserved and unique names) live in manifest-check.ts.
 */
import type { JsonSchema } from "./catalog.ts";

export const TOOL_NAME_RULE = "^[a-z][a-z0-9_]*(\\.[a-z0-9_]+)?$";
export const PLUGIN_NAME_RULE = "^[a-z][a-z0-9_-]{0,31}$";
export const CREDENTIAL_KEY_RULE = "^[a-z0-9_-][a-z0-9_.-]{0,63}$";
/** An event topic (`message.inbound`) or a prefix of topics (`response.*`). */
export const TOPIC_RULE = "^[a-z][a-z_]*(\\.[a-z_]+)*(\\.\\*)?$";
export const CHANNEL_NAME_RULE = "^[a-z][a-z0-9_-]{0,31}$";
const GROUP_OR_ANY_RULE = "^(\\*|[a-z0-9][a-z0-9_-]{0,31})$";

const text = (max: number): JsonSchema => ({ type: "string", minLength: 1, maxLength: max });

const toolSchema: JsonSchema = {
  type: "object",
  additionalProperties: false,
  required: ["name", "description", "risk_level", "arguments_schema"],
  properties: {
    name: { type: "string", maxLength: 64, pattern: TOOL_NAME_RULE },
    description: text(1000),
    risk_level: { enum: ["low", "high"] },
    // A JSON Schema; its own rules are checked by schema-rules.ts.
    arguments_schema: { type: "object" },
  },
};

export const MANIFEST_SCHEMA: JsonSchema = {
  type: "object",
  additionalProperties: false,
  required: ["description", "version", "provides"],
  properties: {
    description: text(1000),
    version: { type: "string", pattern: "^[0-9]+\\.[0-9]+\\.[0-9]+([-+][0-9A-Za-z.-]{1,64})?$" },
    author: text(200),
    provides: {
      type: "object",
      additionalProperties: false,
      properties: {
        tools: { type: "array", maxItems: 64, items: toolSchema },
        channels: { type: "array", maxItems: 8, items: { type: "string", pattern: CHANNEL_NAME_RULE } },
      },
    },
    subscribes: { type: "array", maxItems: 32, items: { type: "string", maxLength: 64, pattern: TOPIC_RULE } },
    allowed_groups: {
      type: "array",
      minItems: 1,
      maxItems: 256,
      items: { type: "string", pattern: GROUP_OR_ANY_RULE },
    },
    config_schema: { type: "object" },
    network: { type: "boolean" },
    install: {
      type: "object",
      additionalProperties: false,
      properties: {
        credentials: {
          type: "array",
          maxItems: 32,
          items: {
            type: "object",
            additionalProperties: false,
            required: ["key"],
            properties: { key: { type: "string", pattern: CREDENTIAL_KEY_RULE }, description: text(500) },
          },
        },
      },
    },
  },
};

export interface ManifestTool {
  name: string;
  description: string;
  risk_level: "low" | "high";
  arguments_schema: JsonSchema;
}

/** A manifest that passed the schema (and, once returned by checkManifest, every manifest security rule). */
export interface Manifest {
  description: string;
  version: string;
  author?: string;
  provides: { tools?: ManifestTool[]; channels?: string[] };
  subscribes?: string[];
  allowed_groups?: string[];
  config_schema?: JsonSchema;
  /** Outbound network access for the plugin process; none unless true. */
  network?: boolean;
  install?: { credentials?: { key: string; description?: string }[] };
}
