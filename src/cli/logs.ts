import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import { defineCommand } from "citty";
import { LOG_FILES, logPath } from "../core/log-file.ts";
import { CliError, EXIT } from "./errors.ts";
import { withHome } from "./run-command.ts";

const DURATION = /^(\d{1,6})(s|m|h|d)$/;
const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const FOLLOW_POLL_MS = 500;

/** `--since`: an ISO time, or how long ago (`90s`, `10m`, `2h`, `1d`); epoch ms. */
export function parseSince(value: string, now = Date.now()): number {
  const d = DURATION.exec(value);
  if (d) return now - Number(d[1]) * UNIT_MS[d[2] as keyof typeof UNIT_MS];
  const t = Date.parse(value);
  if (Number.isNaN(t))
    throw new CliError(
      "USAGE",
      "--since is neither a duration nor a time",
      "use e.g. 10m, 2h, 1d or 2026-01-31T08:00:00Z",
      EXIT.usage,
    );
  return t;
}

/** A line of the log is `<ISO time> <text>`; lines without a readable time belong to the line before. */
function after(text: string, since: number): string {
  let keep = false;
  const out: string[] = [];
  for (const line of text.split("\n")) {
    const t = Date.parse(line.slice(0, line.indexOf(" ")));
    if (!Number.isNaN(t)) keep = t >= since;
    if (keep && line !== "") out.push(line);
  }
  return out.length > 0 ? `${out.join("\n")}\n` : "";
}

export const logsCommand = defineCommand({
  meta: {
    name: "logs",
    description:
      "Show the core's log (logs/core.log under the home and its rotated files, oldest first).\n" +
      "Exit codes: 0 printed (or interrupted while following); 1 no log yet; 2 usage.",
  },
  args: {
    since: { type: "string", description: "Only lines from this time on: 10m, 2h, 1d, or an ISO time" },
    follow: { type: "boolean", alias: "f", description: "Keep printing new lines until interrupted", default: false },
  },
  run: ({ args }) =>
    withHome(async (home) => {
      const since = args.since === undefined ? 0 : parseSince(args.since);
      const files = Array.from({ length: LOG_FILES }, (_, i) => logPath(home, LOG_FILES - 1 - i)).filter((p) =>
        existsSync(p),
      );
      if (files.length === 0 && !args.follow)
        throw new CliError("LOGS", `no log at ${logPath(home)} yet`, "start the core with `carapace start`");
      for (const f of files) process.stdout.write(after(readFileSync(f, "utf8"), since));
      if (!args.follow) return EXIT.ok;
      return await new Promise<number>((resolve) => {
        const current = logPath(home);
        let offset = existsSync(current) ? statSync(current).size : 0;
        const poll = setInterval(() => {
          if (!existsSync(current)) return;
          const size = statSync(current).size;
          if (size < offset) offset = 0; // rotated: the new file starts from its beginning
          if (size === offset) return;
          const fd = openSync(current, "r");
          try {
            const buf = Buffer.alloc(size - offset);
            readSync(fd, buf, 0, buf.length, offset);
            offset = size;
            process.stdout.write(after(buf.toString("utf8"), since));
          } finally {
            closeSync(fd);
          }
        }, FOLLOW_POLL_MS);
        const stop = () => {
          clearInterval(poll);
          resolve(EXIT.ok);
        };
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      });
    }),
});
