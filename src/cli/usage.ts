import { defineCommand } from "citty";
import { summarizeUsage } from "../core/usage-summary.ts";
import { GROUP_NAME_HINT, isGroupName } from "../protocol/group-name.ts";
import { CliError, EXIT } from "./errors.ts";
import { printJson, withHome } from "./run-command.ts";

export const usageCommand = defineCommand({
  meta: {
    name: "usage",
    description:
      "Summarize what the agents spent on the model API: tokens, calls and refusals per group and UTC day.\n" +
      "Read from the audit log; the core need not run.\nExit codes: 0 printed; 2 usage.",
  },
  args: {
    group: { type: "string", description: "Only this group" },
    json: { type: "boolean", description: "Print JSON", default: false },
  },
  run: ({ args }) =>
    withHome(async (home) => {
      const group = args.group;
      if (group !== undefined && !isGroupName(group))
        throw new CliError("USAGE", "invalid group name", `use ${GROUP_NAME_HINT}`, EXIT.usage);
      const rows = await summarizeUsage(home, group !== undefined ? { group } : {});
      if (args.json) {
        printJson(rows);
        return EXIT.ok;
      }
      if (rows.length === 0) {
        process.stdout.write("No API usage recorded yet.\n");
        return EXIT.ok;
      }
      const header = ["day", "group", "tokens", "input", "output", "calls", "refusals", "by budget"];
      const table = rows.map((r) => [
        r.day,
        r.group,
        String(r.tokens),
        String(r.input_tokens),
        String(r.output_tokens),
        String(r.calls),
        String(r.refusals),
        String(r.budget_refusals),
      ]);
      const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => (row[i] ?? "").length)));
      for (const row of [header, ...table])
        process.stdout.write(
          `${row
            .map((c, i) => c.padEnd(widths[i] ?? 0))
            .join("  ")
            .trimEnd()}\n`,
        );
      return EXIT.ok;
    }),
});
