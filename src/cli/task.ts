import { defineCommand } from "citty";
import { singleLine } from "../core/response/terminal-text.ts";
import type { RunView, TaskView } from "../core/tasks/task-view.ts";
import { control } from "./control-client.ts";
import { CliError, EXIT } from "./errors.ts";
import { printJson, withHome } from "./run-command.ts";

const json = { type: "boolean", description: "Print JSON", default: false } as const;
const idArg = { type: "positional", description: "Task id (from `carapace task list`)", required: true } as const;

/** Prompts and answers may hold anything: one line, terminal escapes removed, cut. */
const shown = (text: string, max = 60) => {
  const line = singleLine(text).trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
};

function taskLine(t: TaskView): string {
  const by = t.created_by === "agent" ? `agent (session ${(t.created_session ?? "?").slice(0, 8)})` : "operator";
  return `${t.id}  ${t.group}  ${t.status}  ${t.schedule}  next ${t.next_run ?? "-"}  by ${by}  ${JSON.stringify(shown(t.prompt))}`;
}

function runLine(r: RunView): string {
  const what = r.error ? shown(r.error, 80) : r.answer ? shown(r.answer, 80) : "";
  return `#${r.run}  ${r.trigger}  ${r.outcome}  ${r.started_at}${r.missed ? `  missed ${r.missed}` : ""}${r.delivered_to ? `  to ${r.delivered_to}` : ""}  ${what}`;
}

const add = defineCommand({
  meta: {
    name: "add",
    description:
      'Schedule a prompt for a group: --cron "0 8 * * 1-5" --tz Europe/Berlin, --at 2026-12-24T08:00, or --every 30m.\n' +
      "The answer goes to the host log (`carapace logs`) or, with --deliver, to one chat bound to the group. Exit codes: 0 added; 1 refused (e.g. a time in the past); 2 usage; 3 core not running.",
  },
  args: {
    prompt: { type: "positional", description: "What the agent is asked each time", required: true },
    group: { type: "string", description: "Group the sessions run as", default: "default" },
    cron: { type: "string", description: "Five-field cron expression, read in --tz" },
    at: { type: "string", description: "One run at this ISO time (without an offset: read in --tz)" },
    every: { type: "string", description: "Repeat at this interval (e.g. 30m, 2h, 1d; at least 1m)" },
    tz: { type: "string", description: "IANA time zone (default: this host's)" },
    missed: {
      type: "enum",
      options: ["run_once", "skip"],
      description: "After downtime: run once for what was missed, or skip it",
      default: "run_once",
    },
    overlap: { type: "boolean", description: "Let a run start while the previous one still runs", default: false },
    deliver: {
      type: "string",
      description: "Where the answer goes: log (default), or <channel>:<chat id> bound to the group (e.g. telegram:42)",
      default: "log",
    },
    json,
  },
  run: ({ args }) =>
    withHome((home) => {
      if ([args.cron, args.at, args.every].filter((v) => v !== undefined).length !== 1)
        throw new CliError(
          "TASK",
          "a task needs exactly one of --cron, --at and --every",
          'e.g. --cron "0 8 * * 1-5"',
          EXIT.usage,
        );
      const t = control(home, "task.add", {
        prompt: String(args.prompt),
        group: args.group,
        cron: args.cron,
        at: args.at,
        every: args.every,
        tz: args.tz,
        missed: args.missed,
        overlap: args.overlap === true,
        deliver: args.deliver,
      }) as TaskView;
      if (args.json) printJson(t);
      else process.stdout.write(`task ${t.id} added: ${t.schedule}, next run ${t.next_run ?? "-"}\n`);
      return EXIT.ok;
    }),
});

const list = defineCommand({
  meta: {
    name: "list",
    description:
      "List scheduled tasks: schedule, next run, status, and who created each (operator or agent).\nExit codes: 0 listed; 3 core not running.",
  },
  args: { group: { type: "string", description: "Only this group's tasks" }, json },
  run: ({ args }) =>
    withHome((home) => {
      const tasks = control(home, "task.list", args.group ? { group: args.group } : {}) as TaskView[];
      if (args.json) printJson(tasks);
      else if (tasks.length === 0) process.stdout.write("no scheduled tasks\n");
      else for (const t of tasks) process.stdout.write(`${taskLine(t)}\n`);
      return EXIT.ok;
    }),
});

const show = defineCommand({
  meta: {
    name: "show",
    description: "Show one task and its latest runs.\nExit codes: 0 shown; 1 no such task; 3 core not running.",
  },
  args: { id: idArg, json },
  run: ({ args }) =>
    withHome((home) => {
      const t = control(home, "task.show", { id: args.id }) as TaskView & { runs: RunView[] };
      if (args.json) {
        printJson(t);
        return EXIT.ok;
      }
      process.stdout.write(
        `${taskLine(t)}\nmissed runs: ${t.missed}; overlap: ${t.overlap ? "yes" : "no"}; answers to: ${t.destination}\n`,
      );
      process.stdout.write(`prompt: ${shown(t.prompt, 2_000)}\n`);
      for (const r of t.runs) process.stdout.write(`${runLine(r)}\n`);
      return EXIT.ok;
    }),
});

const runs = defineCommand({
  meta: {
    name: "runs",
    description:
      "Each run of a task and its outcome, oldest first.\nExit codes: 0 shown; 1 no such task; 3 core not running.",
  },
  args: { id: idArg, json },
  run: ({ args }) =>
    withHome((home) => {
      const list = control(home, "task.runs", { id: args.id }) as RunView[];
      if (args.json) printJson(list);
      else if (list.length === 0) process.stdout.write("no runs yet\n");
      else for (const r of list) process.stdout.write(`${runLine(r)}\n`);
      return EXIT.ok;
    }),
});

/** pause, resume, rm, run-now: one id in, one line out. */
function simple(name: string, cmd: string, description: string, said: (r: Record<string, unknown>) => string) {
  return defineCommand({
    meta: { name, description: `${description}\nExit codes: 0 done; 1 refused or no such task; 3 core not running.` },
    args: { id: idArg, json },
    run: ({ args }) =>
      withHome((home) => {
        const r = control(home, cmd, { id: args.id }) as Record<string, unknown>;
        if (args.json) printJson(r);
        else process.stdout.write(`${said(r)}\n`);
        return EXIT.ok;
      }),
  });
}

export const taskCommand = defineCommand({
  meta: {
    name: "task",
    description:
      "Scheduled tasks: a prompt the core runs as a session of a group at set times (cron with time zones, one-shot, interval).\n" +
      "Exit codes: see each subcommand (0 done; 1 refused; 2 usage; 3 core not running).",
  },
  subCommands: {
    add,
    list,
    show,
    runs,
    pause: simple("pause", "task.pause", "Stop a task firing until it is resumed.", (r) => `task ${r.id} paused`),
    resume: simple(
      "resume",
      "task.resume",
      "Let a paused task fire again (from now on).",
      (r) => `task ${r.id} resumed, next run ${r.next_run ?? "-"}`,
    ),
    rm: simple("rm", "task.rm", "Remove a task and its runs.", (r) => `task ${r.removed} removed`),
    "run-now": simple(
      "run-now",
      "task.run_now",
      "Run a task now, outside its schedule.",
      (r) => `task ${r.task} run ${r.run} started; see \`carapace task runs ${r.task}\``,
    ),
  },
});
