import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { defineCommand } from "citty";
import { homePath } from "../config/home.ts";
import { fullToolName, planScaffold, ScaffoldError, writeScaffold } from "../plugins/scaffold/create.ts";
import { toolPrefix } from "../plugins/scaffold/templates.ts";
import { askerFor } from "./ask.ts";
import { CliError, EXIT } from "./errors.ts";
import { withHome } from "./run-command.ts";
import { sdkDeclarations } from "./sdk-artifacts.ts";

export const createCommand = defineCommand({
  meta: {
    name: "create",
    description:
      "Scaffold a plugin: manifest.json (closed schemas), handler.ts, skills/<name>.md, handler.test.ts, the SDK's .d.ts and a tsconfig.\n" +
      "Asks for the description and tools on a terminal unless --yes; flags answer for scripts.\n" +
      "Exit codes: 0 created; 1 the folder exists or a name is refused; 2 usage.",
  },
  args: {
    name: { type: "positional", description: "Plugin name (the folder's name): a-z, 0-9, _ and -", required: true },
    description: { type: "string", description: "One sentence: what the plugin does" },
    tool: { type: "string", description: "Tool names, comma-separated (e.g. greet,farewell); default: run" },
    dir: { type: "string", description: "Create it under this folder instead of $CARAPACE_HOME/plugins" },
    yes: { type: "boolean", description: "Ask nothing; use the flags and defaults", default: false },
  },
  run: ({ args }) =>
    withHome(async (home) => {
      const name = String(args.name);
      let description = args.description ? String(args.description) : `The ${name} plugin.`;
      let tools = args.tool ? String(args.tool) : "run";
      const ask = askerFor("PLUGIN", args.yes);
      if (ask !== null) {
        description = await ask.text("What does the plugin do (one sentence)?", description);
        tools = await ask.text(`Tool names, comma-separated (each becomes ${toolPrefix(name)}.<name>)`, tools);
      }
      const toolNames = tools
        .split(",")
        .map((t) => t.trim())
        .filter(Boolean)
        .map((t) => fullToolName(name, t));
      if (toolNames.length === 0) throw new CliError("PLUGIN", "no tool names given", "pass --tool <name>", EXIT.usage);
      const parent = args.dir ? String(args.dir) : homePath(home, "plugins");
      const dir = join(parent, name);
      try {
        const files = planScaffold({ name, description, tools: toolNames }, await sdkDeclarations());
        mkdirSync(parent, { recursive: true, mode: 0o755 });
        writeScaffold(dir, files);
        process.stdout.write(`created plugin ${name} in ${dir}\n`);
        for (const f of Object.keys(files)) process.stdout.write(`  ${f}\n`);
        process.stdout.write(
          `next: edit handler.ts, then \`carapace plugin test ${dir}\`; a running \`carapace start --watch\` picks it up.\n`,
        );
        return EXIT.ok;
      } catch (error) {
        if (error instanceof ScaffoldError) throw new CliError("PLUGIN", error.what, error.fix);
        throw error;
      }
    }),
});
