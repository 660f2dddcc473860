import { defineCommand } from "citty";
import type { PendingConfirmation } from "../core/confirmations.ts";
import { singleLine, stripTerminalEscapes } from "../core/response/terminal-text.ts";
import { control } from "./control-client.ts";
import { EXIT } from "./errors.ts";
import { printJson, withHome } from "./run-command.ts";

export const approvalsCommand = defineCommand({
  meta: {
    name: "approvals",
    description: "List high-risk calls waiting for a decision.\nExit codes: 0 listed; 3 core not running.",
  },
  args: { json: { type: "boolean", description: "Print JSON", default: false } },
  run: ({ args }) =>
    withHome((home) => {
      const list = control(home, "approvals") as (PendingConfirmation & { age_s: number })[];
      if (args.json) {
        printJson(list);
        return EXIT.ok;
      }
      if (list.length === 0) process.stdout.write("No calls are waiting for confirmation.\n");
      for (const p of list) {
        // Agent-written text: strip terminal escapes before printing.
        process.stdout.write(
          `${p.id}  ${p.tool}  group=${p.group}  age=${p.age_s}s  args=${singleLine(stripTerminalEscapes(p.summary))}\n`,
        );
      }
      if (list.length > 0) process.stdout.write("Answer with `carapace approve <id>` or `carapace deny <id>`.\n");
      return EXIT.ok;
    }),
});

function decide(name: "approve" | "deny") {
  return defineCommand({
    meta: {
      name,
      description: `${name === "approve" ? "Approve" : "Deny"} a pending high-risk call.\nExit codes: 0 done; 1 no such pending call; 3 core not running.`,
    },
    args: {
      id: { type: "positional", description: "Confirmation id from `carapace approvals`", required: true },
      json: { type: "boolean", description: "Print JSON", default: false },
    },
    run: ({ args }) =>
      withHome((home) => {
        control(home, name, { id: args.id });
        const decision = name === "approve" ? "approved" : "denied";
        if (args.json) printJson({ id: args.id, decision });
        else process.stdout.write(`${args.id} ${decision}\n`);
        return EXIT.ok;
      }),
  });
}

export const approveCommand = decide("approve");
export const denyCommand = decide("deny");
