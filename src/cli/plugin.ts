import { existsSync, statSync } from "node:fs";
import { defineCommand } from "citty";
import { loadConfig } from "../config/load.ts";
import { stripTerminalEscapes } from "../core/response/terminal-text.ts";
import { FAILURE_FIXES as FIX } from "../plugins/fixes.ts";
import type { RefusedTool } from "../plugins/mcp/tool-check.ts";
import { type ListedPlugin, listPlugins, validatePluginFolder } from "../plugins/validate.ts";
import type { ReplyFrame } from "../protocol/reply.ts";
import { control } from "./control-client.ts";
import { CliError, EXIT, formatMessage, UserError } from "./errors.ts";
import { liveServers } from "./mcp.ts";
import { createCommand } from "./plugin-create.ts";
import { testCommand } from "./plugin-test.ts";
import { printJson, withHome } from "./run-command.ts";

function clean(text: string): string {
  return stripTerminalEscapes(text).replace(/[\r\n]+/g, " ");
}

const validateCommand = defineCommand({
  meta: {
    name: "validate",
    description:
      "Run every load-time check on a plugin folder (manifest, closed schemas, names, links, permissions, import).\n" +
      "Exit codes: 0 valid; 1 invalid (each problem printed on stderr); 2 usage (no such folder).",
  },
  args: {
    dir: { type: "positional", description: "The plugin folder (its name is the plugin's name)", required: true },
    json: { type: "boolean", description: "Print the report as JSON", default: false },
  },
  run: ({ args }) =>
    withHome(async () => {
      const dir = String(args.dir);
      if (!existsSync(dir) || !statSync(dir).isDirectory()) {
        throw new CliError("PLUGIN", `${clean(dir)} is not a folder`, "pass the path of a plugin folder", EXIT.usage);
      }
      const report = await validatePluginFolder(dir);
      if (args.json) {
        printJson(report);
        return report.valid ? EXIT.ok : EXIT.failure;
      }
      for (const w of report.warnings) process.stderr.write(`[PLUGIN] Warning: ${w}.\n`);
      if (report.valid) {
        process.stdout.write(
          `plugin ${report.name} ${report.version ?? ""} is valid: ${report.tools.length} tool(s)${report.tools.length ? ` (${report.tools.join(", ")})` : ""}\n`,
        );
        return EXIT.ok;
      }
      for (const p of report.problems) {
        process.stderr.write(`${formatMessage("PLUGIN", `${p.category}: ${clean(p.message)}`, FIX[p.category])}\n`);
      }
      return EXIT.failure;
    }),
});

interface LiveInfo {
  plugins: { name: string; status: "healthy" | "failed"; category?: string; reason?: string }[];
}

/** get_session_info from the running core, or null when none runs. */
function liveInfo(home: string): LiveInfo | null {
  try {
    const reply = control(home, "call", { tool: "get_session_info", arguments: {}, group: "default" }) as ReplyFrame;
    return reply.kind === "result" ? (reply.result as LiveInfo) : null;
  } catch (error) {
    if (error instanceof UserError && error.exitCode === EXIT.transport) return null;
    throw error;
  }
}

const listCommand = defineCommand({
  meta: {
    name: "list",
    description:
      "List built-in and user plugins: what the loader would do with each, and (if the core runs) their live state.\n" +
      "Exit codes: 0 listed (also when some plugin is failed); 1 config.toml is invalid.",
  },
  args: { json: { type: "boolean", description: "Print JSON", default: false } },
  run: ({ args }) =>
    withHome((home) => {
      const config = loadConfig(home);
      const listed = listPlugins({ home, dirs: config.plugins.dirs, disabled: config.plugins.disabled });
      const live = liveInfo(home);
      const mcpLive = live ? liveServers(home) : null;
      const mcpRows = Object.keys(config.mcp.servers)
        .sort()
        .map((name) => {
          const running = mcpLive?.find((s) => s.name === name);
          return {
            name,
            source: "mcp" as const,
            dir: null,
            state: "ok" as const,
            version: null,
            tools: running?.tools.map((t) => t.name) ?? [],
            ...(live ? { live: running ? running.state : "not loaded" } : {}),
            ...(running?.category ? { category: running.category, reason: running.reason } : {}),
            ...(running && running.refused.length > 0 ? { refused: running.refused } : {}),
          };
        });
      const pluginRows = listed.map((p: ListedPlugin) => {
        const running = live?.plugins.find(
          (l) => l.name === p.name && p.state !== "overridden" && p.state !== "disabled",
        );
        return {
          ...p,
          ...(live ? { live: running ? running.status : "not loaded" } : {}),
          ...(running?.category ? { category: running.category, reason: running.reason } : {}),
        };
      });
      const rows = [...pluginRows, ...mcpRows];
      if (args.json) {
        printJson({ core_running: live !== null, plugins: rows });
        return EXIT.ok;
      }
      process.stdout.write(`core: ${live ? "running" : "not running (static checks only)"}\n`);
      for (const r of rows) {
        const state = "live" in r ? `${r.state}/${r.live}` : r.state;
        const refused: RefusedTool[] = "refused" in r && Array.isArray(r.refused) ? r.refused : [];
        const why =
          (r.category ? `  ${r.category}: ${clean(r.reason ?? "")}` : "") +
          refused.map((t) => `  refused ${clean(t.tool)}: ${t.category}: ${clean(t.reason)}`).join("");
        process.stdout.write(
          `${r.name.padEnd(20)} ${r.source.padEnd(8)} ${state.padEnd(16)} ${r.tools.join(", ") || "-"}${why}\n`,
        );
      }
      return EXIT.ok;
    }),
});

export const pluginCommand = defineCommand({
  meta: {
    name: "plugin",
    description:
      "Create, check, test and list plugins.\nExit codes: see each subcommand (0 success; 1 failure; 2 usage).",
  },
  subCommands: { create: createCommand, validate: validateCommand, test: testCommand, list: listCommand },
});
