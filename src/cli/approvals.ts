import { defineCommand } from "citty";
import type { PendingConfirmation } from "../core/confirmations.ts";
import { singleLine, terminalSafeJsonText } from "../core/response/terminal-text.ts";
import { fieldLines, hashPrefix } from "./approval-view.ts";
import { control } from "./control-client.ts";
import { CliError, EXIT } from "./errors.ts";
import { printJson, withHome } from "./run-command.ts";

type Listed = PendingConfirmation & { age_s: number; expires_in_s: number };

function printPending(p: Listed): void {
  process.stdout.write(
    `${singleLine(p.id)}  ${singleLine(p.tool)}  group=${singleLine(p.group)}  age=${p.age_s}s  expires in ${p.expires_in_s}s  hash=${hashPrefix(p.request_hash)}\n`,
  );
  for (const line of fieldLines(p.fields)) process.stdout.write(`${line}\n`);
}

function show(home: string, id: string, json: boolean): number {
  const shown = control(home, "approvals.show", { id }) as Listed & { arguments: string };
  if (json) {
    printJson(shown);
    return EXIT.ok;
  }
  process.stdout.write(`${singleLine(shown.id)}  ${singleLine(shown.tool)}  group=${singleLine(shown.group)}\n`);
  process.stdout.write(`request hash: ${singleLine(shown.request_hash)}\n`);
  process.stdout.write("arguments exactly as the tool will receive them (canonical JSON):\n");
  // Canonical JSON escapes C0 controls; C1 and bidi controls are escaped too, so the text stays exact.
  process.stdout.write(`${terminalSafeJsonText(shown.arguments)}\n`);
  return EXIT.ok;
}

export const approvalsCommand = defineCommand({
  meta: {
    name: "approvals",
    description:
      "List high-risk calls waiting for a decision, every argument shown.\n" +
      "`carapace approvals show <id>` prints one call's full canonical arguments and request hash.\nExit codes: 0 listed; 1 no such pending call; 2 usage; 3 core not running.",
  },
  args: {
    action: { type: "positional", description: "show", required: false },
    id: { type: "positional", description: "Confirmation id (with show)", required: false },
    json: { type: "boolean", description: "Print JSON", default: false },
  },
  run: ({ args }) =>
    withHome((home) => {
      if (args.action !== undefined) {
        if (args.action !== "show" || typeof args.id !== "string" || args.id === "")
          throw new CliError(
            "APPROVALS",
            `unknown use of approvals: ${singleLine(String(args.action))}`,
            "run `carapace approvals` or `carapace approvals show <id>`",
            EXIT.usage,
          );
        return show(home, args.id, args.json);
      }
      const list = control(home, "approvals") as Listed[];
      if (args.json) {
        printJson(list);
        return EXIT.ok;
      }
      if (list.length === 0) process.stdout.write("No calls are waiting for confirmation.\n");
      for (const p of list) printPending(p);
      if (list.length > 0)
        process.stdout.write(
          "Full arguments: `carapace approvals show <id>`. Answer with `carapace approve <id>` or `carapace deny <id>`.\n",
        );
      return EXIT.ok;
    }),
});

function decide(name: "approve" | "deny") {
  return defineCommand({
    meta: {
      name,
      description: `${name === "approve" ? "Approve" : "Deny"} a pending high-risk call (recorded in the audit log with your uid).\nExit codes: 0 done; 1 no such pending call, its caller is gone, or the hash does not match; 3 core not running.`,
    },
    args: {
      id: { type: "positional", description: "Confirmation id from `carapace approvals`", required: true },
      hash: {
        type: "string",
        description: "The request hash (or its first 8+ characters) you checked; refused if it differs",
      },
      json: { type: "boolean", description: "Print JSON", default: false },
    },
    run: ({ args }) =>
      withHome((home) => {
        const r = control(home, name, { id: args.id, ...(args.hash ? { hash: args.hash } : {}) }) as {
          request_hash: string;
        };
        const decision = name === "approve" ? "approved" : "denied";
        if (args.json) printJson({ id: args.id, decision, request_hash: r.request_hash });
        else process.stdout.write(`${singleLine(args.id)} ${decision} (request ${hashPrefix(r.request_hash)})\n`);
        return EXIT.ok;
      }),
  });
}

export const approveCommand = decide("approve");
export const denyCommand = decide("deny");
