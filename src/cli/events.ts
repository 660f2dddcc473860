import { existsSync } from "node:fs";
import { defineCommand } from "citty";
import { GROUP_NAME_HINT, GROUP_NAME_PATTERN } from "../config/keys.ts";
import { eventsSocketPath } from "../core/events.ts";
import { singleLine, terminalSafeJson } from "../core/response/terminal-text.ts";
import type { Envelope } from "../protocol/envelope.ts";
import { SubSocket } from "../transport/sockets.ts";
import { EXIT_NO_CORE } from "./control-client.ts";
import { CliError, EXIT } from "./errors.ts";
import { withHome } from "./run-command.ts";

const TOPIC_PREFIX = /^[a-z][a-z0-9_.]{0,63}$/;
/** How often a follower checks that the core (its events socket) is still there. */
const CORE_GONE_POLL_MS = 1_000;

/** One event as a line a person reads: time, topic, group, session, then the payload's fields. */
export function eventLine(envelope: Envelope): string {
  const payload =
    envelope.payload !== null && typeof envelope.payload === "object"
      ? Object.entries(envelope.payload as Record<string, unknown>)
          .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
          .join(" ")
      : JSON.stringify(envelope.payload ?? null);
  return singleLine(
    `${envelope.timestamp} ${envelope.topic} group=${envelope.group} session=${envelope.session} ${payload}`,
  ).trimEnd();
}

export const eventsCommand = defineCommand({
  meta: {
    name: "events",
    description:
      "Print the core's events as they happen: sessions opened/closed, call outcomes, approvals, task runs, agent output.\n" +
      "Without --follow, waits for the next matching event, prints it and exits.\n" +
      "Exit codes: 0 printed (or interrupted); 2 usage; 3 the core is not running or stopped.",
  },
  args: {
    topic: { type: "string", description: "Only topics starting with this prefix (e.g. session., call.)" },
    group: { type: "string", description: "Only events of this group" },
    follow: { type: "boolean", alias: "f", description: "Keep printing until interrupted", default: false },
    json: { type: "boolean", description: "One JSON envelope per line", default: false },
  },
  run: ({ args }) =>
    withHome(async (home) => {
      const prefix = args.topic ?? "";
      if (prefix !== "" && !TOPIC_PREFIX.test(prefix))
        throw new CliError(
          "USAGE",
          "invalid topic prefix",
          "use lowercase letters, digits, _ and . (e.g. session.)",
          EXIT.usage,
        );
      const group = args.group;
      if (group !== undefined && !new RegExp(GROUP_NAME_PATTERN).test(group))
        throw new CliError("USAGE", "invalid group name", `use ${GROUP_NAME_HINT}`, EXIT.usage);
      const path = eventsSocketPath(home);
      if (!existsSync(path))
        throw new CliError("CORE", "the core is not running", "start it with `carapace start`", EXIT_NO_CORE);
      return await new Promise<number>((resolve) => {
        const decoder = new TextDecoder();
        let done = false;
        const finish = (code: number) => {
          if (done) return;
          done = true;
          clearInterval(watch);
          process.off("SIGINT", interrupted);
          process.off("SIGTERM", interrupted);
          sub.close();
          resolve(code);
        };
        const interrupted = () => finish(EXIT.ok);
        const sub = new SubSocket(`ipc://${path}`, (_topic, body) => {
          if (done) return;
          let envelope: Envelope;
          try {
            envelope = JSON.parse(decoder.decode(body)) as Envelope;
          } catch {
            return;
          }
          if (typeof envelope?.topic !== "string" || !envelope.topic.startsWith(prefix)) return;
          if (group !== undefined && envelope.group !== group) return;
          process.stdout.write(`${args.json ? terminalSafeJson(envelope) : eventLine(envelope)}\n`);
          if (!args.follow) finish(EXIT.ok);
        });
        sub.subscribe(prefix);
        process.on("SIGINT", interrupted);
        process.on("SIGTERM", interrupted);
        const watch = setInterval(() => {
          if (existsSync(path)) return;
          process.stderr.write(
            "[CORE] Error: the core stopped; no more events. Fix: start it with `carapace start` and run this again.\n",
          );
          finish(EXIT_NO_CORE);
        }, CORE_GONE_POLL_MS);
        process.stderr.write(`listening for events on ${path}\n`);
      });
    }),
});
