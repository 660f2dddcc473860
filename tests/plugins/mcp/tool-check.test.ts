import { describe, expect, test } from "bun:test";
import { catalogName, checkMcpTools } from "../../../src/plugins/mcp/tool-check.ts";

const closed = (properties: Record<string, unknown> = {}) => ({
  type: "object",
  properties,
  additionalProperties: false,
});
const tool = (name: string, inputSchema: unknown, annotations?: Record<string, unknown>) => ({
  name,
  description: `${name} tool`,
  inputSchema,
  ...(annotations ? { annotations } : {}),
});

describe("an MCP server's tools, checked by the manifest rules", () => {
  test("names become <server>.<tool> in the catalog's alphabet", () => {
    expect(catalogName("gh", "create-issue")).toBe("gh.create_issue");
    expect(catalogName("gh", "Get.Repo")).toBe("gh.get_repo");
    const checked = checkMcpTools("gh", [tool("create-issue", closed())], {});
    expect(checked.tools.map((t) => [t.name, t.mcp_name])).toEqual([["gh.create_issue", "create-issue"]]);
  });

  test("risk is high by default, low when read-only, and the user's lists win", () => {
    const raw = [
      tool("write", closed()),
      tool("read", closed(), { readOnlyHint: true }),
      tool("read_but_high", closed(), { readOnlyHint: true }),
      tool("write_but_low", closed()),
      tool("hinted_false", closed(), { readOnlyHint: false, destructiveHint: false }),
    ];
    const checked = checkMcpTools("s", raw, { high_risk_tools: ["read_but_high"], low_risk_tools: ["write_but_low"] });
    expect(Object.fromEntries(checked.tools.map((t) => [t.mcp_name, t.risk_level]))).toEqual({
      write: "high",
      read: "low",
      read_but_high: "high",
      write_but_low: "low",
      hinted_false: "high",
    });
  });

  test("an object schema that leaves additionalProperties unsaid is closed, at every depth", () => {
    const schema = { type: "object", properties: { inner: { type: "object", properties: { a: { type: "string" } } } } };
    const [accepted] = checkMcpTools("s", [tool("t", schema)], {}).tools;
    expect(accepted?.arguments_schema).toEqual({
      type: "object",
      additionalProperties: false,
      properties: { inner: { type: "object", additionalProperties: false, properties: { a: { type: "string" } } } },
    });
    expect(accepted?.closed).toEqual(["/", "/properties/inner"]);
  });

  test("a schema open on purpose is refused, with where", () => {
    for (const open of [true, { type: "string" }, {}]) {
      const schema = { type: "object", properties: { x: closed() }, additionalProperties: open };
      const checked = checkMcpTools("s", [tool("t", schema)], {});
      expect(checked.tools).toEqual([]);
      expect(checked.refused).toEqual([
        { tool: "t", category: "schema_open", reason: expect.stringContaining("at /") },
      ]);
    }
  });

  test("$ref is refused, recursive or not", () => {
    const schema = {
      type: "object",
      additionalProperties: false,
      properties: { n: { $ref: "#/$defs/n" } },
      $defs: { n: { type: "object", additionalProperties: false, properties: { c: { $ref: "#/$defs/n" } } } },
    };
    expect(checkMcpTools("s", [tool("t", schema)], {}).refused[0]?.category).toBe("schema_ref");
  });

  test("depth, width and size are bounded", () => {
    let deep: Record<string, unknown> = { type: "string" };
    for (let i = 0; i < 12; i++) deep = closed({ d: deep });
    expect(checkMcpTools("s", [tool("deep", deep)], {}).refused[0]?.category).toBe("schema_too_complex");
    const wide = closed(Object.fromEntries(Array.from({ length: 70 }, (_, i) => [`p${i}`, { type: "string" }])));
    expect(checkMcpTools("s", [tool("wide", wide)], {}).refused[0]?.category).toBe("schema_too_complex");
    const big = closed({ e: { type: "string", enum: Array.from({ length: 2000 }, (_, i) => `value-${i}`) } });
    expect(checkMcpTools("s", [tool("big", big)], {}).refused[0]?.category).toBe("too_large");
    const oversized = { name: "sized", inputSchema: null, inputSchemaBytes: 99_999 };
    expect(checkMcpTools("s", [oversized], {}).refused[0]?.category).toBe("too_large");
  });

  test("an untyped property, a bad name, a duplicate after renaming and a non-object are refused; the rest load", () => {
    const checked = checkMcpTools(
      "s",
      [
        tool("ok", closed()),
        tool("untyped", closed({ x: { description: "anything" } })),
        tool("bad name!", closed()),
        tool("dup-name", closed()),
        tool("dup_name", closed()),
        "not a tool",
        tool("root_not_object", { type: "string" }),
      ],
      {},
    );
    expect(checked.tools.map((t) => t.mcp_name)).toEqual(["ok", "dup-name"]);
    expect(checked.refused.map((r) => [r.tool, r.category])).toEqual([
      ["untyped", "schema_open"],
      ["bad name!", "name_invalid"],
      ["dup_name", "duplicate_tool"],
      ["#5", "manifest_invalid"],
      ["root_not_object", "manifest_invalid"],
    ]);
  });

  test("the server's $schema dialect marker is dropped; descriptions are cleaned and bounded", () => {
    const schema = { $schema: "http://json-schema.org/draft-07/schema#", ...closed() };
    const raw = [{ name: "t", description: `\u001b[31mred\u001b[0m ${"x".repeat(3000)}`, inputSchema: schema }];
    const [accepted] = checkMcpTools("s", raw, {}).tools;
    expect(accepted?.arguments_schema).toEqual(closed());
    expect(accepted?.description.startsWith("red x")).toBe(true);
    expect(accepted?.description.length).toBe(1000);
  });

  test("more tools than a manifest may declare: the rest are refused", () => {
    const raw = Array.from({ length: 70 }, (_, i) => tool(`t${i}`, closed()));
    const checked = checkMcpTools("s", raw, {});
    expect(checked.tools.length).toBe(64);
    expect(checked.refused.length).toBe(6);
  });
});
