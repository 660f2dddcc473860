/** The files `carapace plugin create` writes: a plugin that passes every check and its own test. */

export interface ScaffoldSpec {
  /** The plugin's (folder's) name. */
  name: string;
  description: string;
  /** Full tool names (`prefix.verb`). */
  tools: string[];
}

/** The tool-name prefix for a plugin name: tool names allow `_` but not `-`. */
export function toolPrefix(plugin: string): string {
  return plugin.replace(/-/g, "_");
}

export function manifestTemplate(spec: ScaffoldSpec): string {
  const manifest = {
    description: spec.description,
    version: "0.1.0",
    provides: {
      tools: spec.tools.map((name) => ({
        name,
        description: `Answers with the text it is given (replace this with what ${name} does).`,
        risk_level: "low",
        arguments_schema: {
          type: "object",
          additionalProperties: false,
          required: ["text"],
          properties: { text: { type: "string", minLength: 1, maxLength: 1000 } },
        },
      })),
    },
    allowed_groups: ["*"],
  };
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

export function handlerTemplate(spec: ScaffoldSpec): string {
  const cases = spec.tools
    .map(
      (tool) => `      case ${JSON.stringify(tool)}: {
        // The core validated args against the manifest's schema; this only narrows the type.
        const text = String(args.text);
        services?.log("debug", \`${tool} called by group \${context.group}\`);
        return { text };
      }`,
    )
    .join("\n");
  return `/**
 * The ${spec.name} plugin: ${spec.description}
 * Throw ToolError for errors the caller should see; anything else reaches the caller as a generic PLUGIN_ERROR.
 */
import { type CoreServices, type PluginHandler, type ToolContext, ToolError } from "@carapace/sdk";

let services: CoreServices | null = null;

const handler: PluginHandler = {
  initialize(s: CoreServices) {
    services = s;
  },

  async handleToolInvocation(tool: string, args: Record<string, unknown>, context: ToolContext) {
    switch (tool) {
${cases}
      default:
        throw new ToolError("UNSUPPORTED_TOOL", \`The ${spec.name} plugin has no tool \${tool}.\`);
    }
  },

  shutdown() {
    services = null;
  },
};

export default handler;
`;
}

export function skillTemplate(spec: ScaffoldSpec): string {
  const lines = spec.tools.map((t) => `- \`ipc ${t} '{"text":"hello"}'\`: answers \`{"text":"hello"}\`.`).join("\n");
  return `---
name: ${spec.name.replace(/_/g, "-")}
description: ${spec.description.replace(/\s+/g, " ").slice(0, 300)} Use when the user asks for what these tools do.
---

# ${spec.name}

Call these tools with \`ipc\`; each prints JSON on stdout (exit 0) or an error object on stderr (exit 1).

${lines}
`;
}

export function testTemplate(spec: ScaffoldSpec): string {
  const tool = spec.tools[0] as string;
  return `import { expect, test } from "bun:test";
import { assertNoSecretLeak, createTestContext, invokeTool } from "@carapace/testing";
import handler from "./handler.ts";

test("${tool} answers with the text it is given", async () => {
  const ctx = createTestContext({ plugin: import.meta.dir, group: "family" });
  const outcome = await invokeTool(handler, "${tool}", { text: "hello" }, ctx);
  expect(outcome).toEqual({ ok: true, result: { text: "hello" } });
  assertNoSecretLeak(outcome);
});

test("${tool} refuses arguments its schema does not allow", async () => {
  const ctx = createTestContext({ plugin: import.meta.dir });
  const outcome = await invokeTool(handler, "${tool}", { text: "hello", extra: true }, ctx);
  expect(outcome).toMatchObject({ ok: false, error: { code: "VALIDATION_FAILED", field: "/extra" } });
});
`;
}

/** Typechecks handler.ts against the shipped SDK types (add "types": ["bun"] with @types/bun for the test). */
export function tsconfigTemplate(): string {
  const config = {
    compilerOptions: {
      target: "ESNext",
      module: "Preserve",
      moduleResolution: "bundler",
      lib: ["ESNext"],
      types: [],
      strict: true,
      noUncheckedIndexedAccess: true,
      allowImportingTsExtensions: true,
      noEmit: true,
    },
    files: ["carapace-sdk.d.ts", "handler.ts"],
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}
