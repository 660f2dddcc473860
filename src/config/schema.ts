import { CHANNEL_KEYS, CHANNEL_NAME_PATTERN, CHAT_ID_PATTERN, CHAT_KEYS } from "./channel-keys.ts";
import {
  type Config,
  GROUP_KEYS,
  GROUP_NAME_PATTERN,
  type KeySpec,
  SECTION_KEYS,
  SECTION_NAMES,
  type SectionName,
} from "./keys.ts";
import { MCP_SCHEMA } from "./mcp.ts";

/** JSON Schema of config.toml, derived from keys.ts. Every object is closed (additionalProperties: false). */

type JsonSchema = Record<string, unknown>;

export function keySchema(spec: KeySpec): JsonSchema {
  switch (spec.kind) {
    case "string":
      return spec.pattern === undefined ? { type: "string" } : { type: "string", pattern: spec.pattern };
    case "integer":
      return { type: "integer", minimum: spec.minimum, maximum: spec.maximum };
    case "boolean":
      return { type: "boolean" };
    case "enum":
      return { type: "string", enum: [...spec.values] };
    case "string-list":
      return {
        type: "array",
        maxItems: spec.maxItems,
        items:
          spec.itemPattern === undefined
            ? { type: "string", minLength: 1 }
            : { type: "string", minLength: 1, pattern: spec.itemPattern },
      };
  }
}

function tableSchema(keys: Record<string, KeySpec>): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  for (const [name, spec] of Object.entries(keys)) properties[name] = keySchema(spec);
  return { type: "object", properties, additionalProperties: false };
}

export function buildConfigSchema(): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  for (const section of SECTION_NAMES) properties[section] = tableSchema(SECTION_KEYS[section]);
  properties.groups = {
    type: "object",
    patternProperties: { [GROUP_NAME_PATTERN]: tableSchema(GROUP_KEYS) },
    additionalProperties: false,
  };
  properties.mcp = MCP_SCHEMA;
  const chat = tableSchema(CHAT_KEYS);
  (chat as { required?: string[] }).required = ["group"];
  const channel = tableSchema(CHANNEL_KEYS);
  (channel.properties as Record<string, JsonSchema>).chats = {
    type: "object",
    patternProperties: { [CHAT_ID_PATTERN]: chat },
    additionalProperties: false,
  };
  properties.channels = {
    type: "object",
    patternProperties: { [CHANNEL_NAME_PATTERN]: channel },
    additionalProperties: false,
  };
  return { type: "object", properties, additionalProperties: false };
}

function sectionDefaults<S extends SectionName>(section: S): Config[S] {
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(SECTION_KEYS[section])) {
    out[name] = Array.isArray(spec.default) ? [...spec.default] : spec.default;
  }
  return out as Config[S];
}

function buildDefaults(): Config {
  const config: Partial<Config> = { groups: {}, mcp: { servers: {} }, channels: {} };
  for (const section of SECTION_NAMES) (config as Record<string, unknown>)[section] = sectionDefaults(section);
  return config as Config;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object") {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/** Every default; frozen. loadConfig returns a fresh copy with the user's values merged in. */
export const DEFAULT_CONFIG: Readonly<Config> = deepFreeze(buildDefaults());

export function cloneDefaults(): Config {
  return buildDefaults();
}
