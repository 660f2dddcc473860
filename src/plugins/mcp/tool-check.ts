/**
 * The core's checks of an MCP server's tool list, by the same load-time rules as a manifest's tools
 * (manifest-check.ts): each tool becomes `<server>.<tool>` only if its input schema is closed (an
 * object schema that merely leaves additionalProperties unsaid is closed here; one that allows other
 * keys on purpose is refused), bounded in depth and size, and free of `$ref`. A refused tool is listed
 * with its reason; the others still load. Risk is high unless the user lists the tool as low, or the
 * server marks it read-only and the user did not list it as high.
 */
import type { McpServerConfig } from "../../config/mcp.ts";
import { stripTerminalEscapes } from "../../core/response/terminal-text.ts";
import type { FailureCategory } from "../failure.ts";
import { checkManifest } from "../manifest-check.ts";
import type { ManifestTool } from "../manifest-schema.ts";
import { MAX_SCHEMA_DEPTH } from "../schema-rules.ts";
import { MAX_SCHEMA_BYTES as MAX_MCP_SCHEMA_BYTES } from "./bridge-spec.ts";

export const MAX_MCP_TOOLS = 64;
const MAX_NAME_CHARS = 64;

export interface RefusedTool {
  /** The tool's name as the server gave it (cleaned for display). */
  tool: string;
  category: FailureCategory;
  reason: string;
}

export interface AcceptedTool extends ManifestTool {
  /** The name the server knows the tool by. */
  mcp_name: string;
  /** Where the core added additionalProperties:false the server left out. */
  closed: string[];
  read_only_hint: boolean;
}

export interface CheckedTools {
  tools: AcceptedTool[];
  refused: RefusedTool[];
}

function shown(value: unknown, max = 64): string {
  return stripTerminalEscapes(String(value))
    .replace(/[^\x20-\x7e]/g, "?")
    .slice(0, max);
}

/** The catalog name of an MCP tool: lowercase, `-`/`.`/other characters as `_`, under the server's namespace. */
export function catalogName(server: string, mcpName: string): string {
  const local = mcpName
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, "_")
    .replace(/^_+/, "");
  return `${server}.${local || "tool"}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Closes every object schema that does not say what other keys it takes, in place; returns where,
 * or the pointer of one that allows other keys on purpose (additionalProperties true or a schema).
 */
function closeObjects(node: unknown, pointer: string, depth: number, closed: string[]): string | null {
  if (depth > MAX_SCHEMA_DEPTH + 2 || !isObject(node)) return null;
  const types = typeof node.type === "string" ? [node.type] : Array.isArray(node.type) ? node.type : [];
  if (types.includes("object") || isObject(node.properties)) {
    if (node.additionalProperties === undefined) {
      node.additionalProperties = false;
      closed.push(pointer || "/");
    } else if (node.additionalProperties !== false) return pointer || "/";
  }
  for (const key of ["properties", "patternProperties", "$defs", "definitions"]) {
    const map = node[key];
    if (!isObject(map)) continue;
    for (const [name, sub] of Object.entries(map)) {
      const open = closeObjects(sub, `${pointer}/${key}/${name}`, depth + 1, closed);
      if (open) return open;
    }
  }
  for (const key of ["items", "not", "if", "then", "else", "additionalItems"]) {
    const open = closeObjects(node[key], `${pointer}/${key}`, depth + 1, closed);
    if (open) return open;
  }
  for (const key of ["allOf", "anyOf", "oneOf", "prefixItems", "items"]) {
    const list = node[key];
    if (!Array.isArray(list)) continue;
    for (const [i, sub] of list.entries()) {
      const open = closeObjects(sub, `${pointer}/${key}/${i}`, depth + 1, closed);
      if (open) return open;
    }
  }
  return null;
}

function riskOf(mcpName: string, readOnly: boolean, config: McpServerConfig): "low" | "high" {
  if (config.high_risk_tools?.includes(mcpName)) return "high";
  if (config.low_risk_tools?.includes(mcpName)) return "low";
  return readOnly ? "low" : "high";
}

function checkOne(server: string, raw: Record<string, unknown>, config: McpServerConfig): AcceptedTool | RefusedTool {
  const mcpName = typeof raw.name === "string" ? raw.name : "";
  const tool = shown(mcpName || "(no name)");
  const refuse = (category: FailureCategory, reason: string): RefusedTool => ({ tool, category, reason });
  if (!/^[A-Za-z0-9_.-]{1,128}$/.test(mcpName))
    return refuse("name_invalid", "its name is not 1-128 characters of A-Z, a-z, 0-9, _, . and -");
  const name = catalogName(server, mcpName);
  if (name.length > MAX_NAME_CHARS) return refuse("name_invalid", `its catalog name ${name} is over 64 characters`);
  const schemaText = JSON.stringify(raw.inputSchema ?? null);
  if (typeof raw.inputSchemaBytes === "number" || Buffer.byteLength(schemaText) > MAX_MCP_SCHEMA_BYTES)
    return refuse("too_large", `its input schema is over ${MAX_MCP_SCHEMA_BYTES} bytes`);
  const schema = JSON.parse(schemaText) as unknown;
  if (!isObject(schema)) return refuse("manifest_invalid", "its input schema is not a JSON Schema object");
  // A dialect marker only: the core validates every schema with one validator of its own.
  delete schema.$schema;
  const closed: string[] = [];
  const open = closeObjects(schema, "", 0, closed);
  if (open)
    return refuse(
      "schema_open",
      `its input schema at ${open} accepts keys it does not name (additionalProperties is not false)`,
    );
  const description =
    shown(typeof raw.description === "string" ? raw.description.trim() : "", 1000) ||
    `${mcpName} (no description given by the server)`;
  const annotations = isObject(raw.annotations) ? raw.annotations : {};
  const readOnly = annotations.readOnlyHint === true;
  const candidate: ManifestTool = {
    name,
    description,
    risk_level: riskOf(mcpName, readOnly, config),
    arguments_schema: schema,
  };
  // The manifest's own load-time rules, on a manifest of this one tool.
  const checked = checkManifest(
    server,
    JSON.stringify({ description: "mcp", version: "0.0.0", provides: { tools: [candidate] } }),
  );
  const first = checked.problems[0];
  if (first)
    return refuse(first.category, first.message.replace(`tool "${name}" arguments_schema`, "its input schema"));
  return { ...candidate, mcp_name: mcpName, closed, read_only_hint: readOnly };
}

/** Checks a server's listed tools; `raw` comes from the bridge process and is not trusted. */
export function checkMcpTools(server: string, raw: unknown, config: McpServerConfig): CheckedTools {
  const out: CheckedTools = { tools: [], refused: [] };
  const listed = Array.isArray(raw) ? raw : [];
  const names = new Set<string>();
  for (const [i, item] of listed.entries()) {
    if (!isObject(item)) {
      out.refused.push({ tool: `#${i}`, category: "manifest_invalid", reason: "it is not a tool object" });
      continue;
    }
    if (out.tools.length >= MAX_MCP_TOOLS) {
      out.refused.push({
        tool: shown(item.name),
        category: "too_large",
        reason: `the server lists more than ${MAX_MCP_TOOLS} tools`,
      });
      continue;
    }
    const result = checkOne(server, item, config);
    if ("reason" in result) out.refused.push(result);
    else if (names.has(result.name))
      out.refused.push({
        tool: result.mcp_name,
        category: "duplicate_tool",
        reason: `another tool is already named ${result.name}`,
      });
    else {
      names.add(result.name);
      out.tools.push(result);
    }
  }
  return out;
}
