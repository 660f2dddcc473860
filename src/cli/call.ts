import { defineCommand } from "citty";
import { limitsFromConfig, loadConfig } from "../config/load.ts";
import type { PendingConfirmation } from "../core/confirmations.ts";
import type { ReplyFrame } from "../protocol/reply.ts";
import { control } from "./control-client.ts";
import { CliError, EXIT } from "./errors.ts";
import { withHome } from "./run-command.ts";

/**
 * Once the call has waited a second, looks for its pending confirmation and says on stderr how to
 * answer it (stdout stays the result alone).
 */
function approvalHint(home: string, tool: string, group: string, timeoutMs: number): (waitedMs: number) => void {
  let told = false;
  return () => {
    if (told) return;
    let pending: PendingConfirmation[];
    try {
      pending = control(home, "approvals") as PendingConfirmation[];
    } catch {
      return;
    }
    const mine = pending.filter((p) => p.tool === tool && p.group === group).at(-1);
    if (mine === undefined) return;
    told = true;
    process.stderr.write(
      `[CALL] ${tool} is high risk and waits for a person: answer with \`carapace approve ${mine.id}\` or \`carapace deny ${mine.id}\` (denied after ${Math.round(timeoutMs / 1000)} s).\n`,
    );
  };
}

export const callCommand = defineCommand({
  meta: {
    name: "call",
    description:
      "Run a tool as the operator through the same six stages (source `cli`).\n" +
      "Exit codes: 0 result on stdout; 1 error object on stderr; 2 usage; 3 core not running.",
  },
  args: {
    tool: { type: "positional", description: "Tool name, e.g. hello.echo", required: true },
    arguments: { type: "positional", description: "Arguments as a JSON object", required: false, default: "{}" },
    group: { type: "string", description: "Group to call as", default: "default" },
    json: {
      type: "boolean",
      description: "Print the whole reply ({kind, result} or {kind, error}) on stdout",
      default: false,
    },
  },
  run: ({ args }) =>
    withHome((home) =>
      operatorCall(home, {
        tool: String(args.tool),
        arguments: String(args.arguments),
        group: String(args.group),
        json: args.json === true,
      }),
    ),
});

/** One call as the operator through the six stages; prints the result (or error) and returns the exit code. */
export function operatorCall(home: string, args: { tool: string; arguments: string; group: string; json: boolean }) {
  let parsed: unknown;
  try {
    parsed = JSON.parse(String(args.arguments));
  } catch {
    throw new CliError(
      "CALL",
      "the arguments are not valid JSON",
      'pass a JSON object such as \'{"message":"hi"}\'',
      EXIT.usage,
    );
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new CliError("CALL", "the arguments must be a JSON object", "pass a JSON object such as '{}'", EXIT.usage);
  }
  const limits = limitsFromConfig(loadConfig(home), String(args.group));
  const reply = control(
    home,
    "call",
    { tool: args.tool, arguments: parsed, group: args.group },
    limits.confirmationTimeoutMs + limits.handlerTimeoutMs + 10_000,
    approvalHint(home, String(args.tool), String(args.group), limits.confirmationTimeoutMs),
  ) as ReplyFrame;
  if (args.json) {
    process.stdout.write(`${JSON.stringify(reply)}\n`);
    return reply.kind === "result" ? EXIT.ok : EXIT.failure;
  }
  if (reply.kind === "result") {
    process.stdout.write(`${JSON.stringify(reply.result)}\n`);
    return EXIT.ok;
  }
  if (reply.kind === "error") process.stderr.write(`${JSON.stringify(reply.error)}\n`);
  return EXIT.failure;
}
