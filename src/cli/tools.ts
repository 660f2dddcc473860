/** `carapace tools [--group g]`: the tools a group's sessions can call, as the running core has them. */
import { defineCommand } from "citty";
import { singleLine, stripTerminalEscapes } from "../core/response/terminal-text.ts";
import { control } from "./control-client.ts";
import { CliError, EXIT } from "./errors.ts";
import { printJson, withHome } from "./run-command.ts";

interface ListedTool {
  name: string;
  description: string;
  risk_level: "low" | "high";
  plugin: string;
  available: boolean;
}

const GROUP = /^[a-z0-9_-]{1,32}$/;

export const toolsCommand = defineCommand({
  meta: {
    name: "tools",
    description:
      "List the tools a group's sessions can call (name, risk, plugin), from the running core.\n" +
      "Exit codes: 0 listed; 2 usage (invalid group name); 3 core not running.",
  },
  args: {
    group: { type: "string", description: "Group whose tools to list", default: "default" },
    json: { type: "boolean", description: "Print JSON", default: false },
  },
  run: ({ args }) =>
    withHome((home) => {
      const group = String(args.group);
      if (!GROUP.test(group))
        throw new CliError("TOOLS", "that is not a valid group name", "use 1-32 of a-z, 0-9, _ and -", EXIT.usage);
      const tools = control(home, "tools", { group }) as ListedTool[];
      if (args.json) {
        printJson(tools);
        return EXIT.ok;
      }
      const width = Math.max(4, ...tools.map((t) => t.name.length));
      process.stdout.write(`Tools group ${group} can call (${tools.length}):\n`);
      for (const t of tools) {
        const state = t.available ? "" : " (unavailable)";
        // Plugin-written text: one line, no terminal escapes.
        const what = singleLine(stripTerminalEscapes(t.description)).slice(0, 100);
        process.stdout.write(`  ${t.name.padEnd(width)}  ${t.risk_level.padEnd(4)}  ${t.plugin}${state}  ${what}\n`);
      }
      return EXIT.ok;
    }),
});
