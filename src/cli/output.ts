/**
 * Output conventions of the `carapace` CLI (DX-02):
 * - colour only on a terminal, never with NO_COLOR (any non-empty value) or TERM=dumb;
 * - logs (consola) go to stderr; on a terminal they are pretty, elsewhere one JSON object per line
 *   (`{"level":"info","time":"…","msg":"…"}`), unless [logging] format says otherwise;
 * - the lowest level logged comes from [logging] level;
 * - no spinners anywhere, and prompts only when stdin and stdout are terminals.
 */
import { type ConsolaReporter, consola, type LogObject } from "consola";
import type { Config } from "../config/keys.ts";
import { configureLogStream, logLine } from "../core/response/log-stream.ts";

type Logging = Config["logging"];
export type LogFormat = "json" | "pretty";
type Env = Record<string, string | undefined>;

interface Stream {
  isTTY?: boolean;
}

/** Colour on this stream: a terminal, NO_COLOR unset or empty, TERM not dumb. */
export function colourEnabled(stream: Stream = process.stdout, env: Env = process.env): boolean {
  if ((env.NO_COLOR ?? "") !== "") return false;
  if (env.TERM === "dumb") return false;
  return stream.isTTY === true;
}

/** Questions are asked only when a person can answer them. */
export function interactive(): boolean {
  return process.stdin.isTTY === true && process.stdout.isTTY === true;
}

export function logFormat(configured: Logging["format"], stream: Stream = process.stderr): LogFormat {
  if (configured !== "auto") return configured;
  return stream.isTTY === true ? "pretty" : "json";
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching terminal escapes is the point
const ANSI = /\u001B\[[0-9;?]*[ -/]*[@-~]|\u001B\][^\u0007\u001B]*(?:\u0007|\u001B\\)/g;

export function stripAnsi(text: string): string {
  return text.replace(ANSI, "");
}

/** consola's numeric levels for the [logging] level names. */
const CONSOLA_LEVEL: Record<Logging["level"], number> = { error: 0, warn: 1, info: 3, debug: 4 };

/** consola log types → the four level names of the JSON lines. */
function levelName(type: LogObject["type"]): Logging["level"] {
  switch (type) {
    case "fatal":
    case "error":
    case "fail":
      return "error";
    case "warn":
      return "warn";
    case "debug":
    case "trace":
    case "verbose":
      return "debug";
    default:
      return "info";
  }
}

function messageOf(args: readonly unknown[]): string {
  return args.map((a) => (a instanceof Error ? a.message : typeof a === "string" ? a : JSON.stringify(a))).join(" ");
}

const COMPONENT = /^\[([A-Z][A-Z0-9_-]*)\] /;

export interface JsonLogLine {
  level: Logging["level"];
  time: string;
  msg: string;
  component?: string;
}

export function jsonLogLine(log: Pick<LogObject, "type" | "date" | "args" | "tag">): JsonLogLine {
  const msg = stripAnsi(messageOf(log.args));
  const component = COMPONENT.exec(msg)?.[1] ?? (log.tag === "" ? undefined : log.tag);
  return {
    level: levelName(log.type),
    time: log.date.toISOString(),
    msg,
    ...(component === undefined ? {} : { component }),
  };
}

function jsonReporter(write: (line: string) => void): ConsolaReporter {
  return { log: (log) => write(`${JSON.stringify(jsonLogLine(log))}\n`) };
}

/** Plain text for pipes asked to be pretty, and for NO_COLOR terminals: no colour, no icons. */
function plainReporter(write: (line: string) => void): ConsolaReporter {
  return {
    log: (log) => {
      const level = levelName(log.type);
      const prefix = level === "info" ? "" : `${level}: `;
      write(`${prefix}${stripAnsi(messageOf(log.args))}\n`);
    },
  };
}

const DEFAULT_LOGGING: Logging = { level: "info", format: "auto" };
const defaultReporters = [...consola.options.reporters];

/**
 * Sets consola up for this process from [logging] (defaults when no config is loaded yet). Called once
 * before any command runs, and again by commands that load the config (start, setup).
 */
export function configureOutput(logging: Logging = DEFAULT_LOGGING, env: Env = process.env): LogFormat {
  const format = logFormat(logging.format);
  const write = (line: string) => process.stderr.write(line);
  consola.level = CONSOLA_LEVEL[logging.level];
  consola.options.formatOptions.colors = colourEnabled(process.stderr, env);
  if (format === "json") consola.setReporters([jsonReporter(write)]);
  else if (!colourEnabled(process.stderr, env)) consola.setReporters([plainReporter(write)]);
  else consola.setReporters(defaultReporters);
  return format;
}

/**
 * The core's own output joins its one log stream (src/core/response/log-stream.ts): the same format,
 * level, sanitizing and escape stripping as plugin logs, agent stderr and traces. `debug` (from --debug)
 * lowers the level so traces show.
 */
export function joinLogStream(logging: Logging, format: LogFormat, debug: boolean): void {
  configureLogStream({ level: debug ? "debug" : logging.level, format });
  consola.level = CONSOLA_LEVEL[debug ? "debug" : logging.level];
  consola.setReporters([{ log: (log) => logLine(messageOf(log.args), { level: levelName(log.type) }) }]);
}

/**
 * A reader that stops early (`carapace config list | head -1`) closes the pipe; later writes then
 * fail with EPIPE, which Bun would print as a stack trace. The command goes on to its end (a
 * mutating one must not stop half way) and what it would still have printed is dropped.
 */
export function dropOutputAfterPipeCloses(stream: NodeJS.WriteStream): void {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
    stream.write = (() => true) as typeof stream.write;
  });
}
