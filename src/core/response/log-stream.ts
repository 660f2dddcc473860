import { sanitizeText } from "./sanitize.ts";
import { stripTerminalEscapes } from "./terminal-text.ts";

/**
 * The core process's one log stream: its own messages, plugin output, the agent's stderr and --debug
 * traces all go through `logLine`, so each line is sanitized, stripped of terminal escapes, filtered
 * by the configured level and written in one format (JSON lines when stderr is not a terminal).
 */
export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogStreamFormat = "json" | "pretty";

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };
const COMPONENT = /^\[([A-Za-z][A-Za-z0-9_ .:-]{0,40})\] ?/;
const MAX_LINE_CHARS = 8 * 1024;

interface StreamSettings {
  level: LogLevel;
  format: LogStreamFormat;
  write: (text: string) => void;
}

const settings: StreamSettings = {
  level: "info",
  format: process.stderr.isTTY ? "pretty" : "json",
  write: (text) => process.stderr.write(text),
};

export function configureLogStream(next: Partial<StreamSettings>): void {
  Object.assign(settings, next);
}

export function logEnabled(level: LogLevel): boolean {
  return RANK[level] >= RANK[settings.level];
}

/** Escapes first: a key glued to a colour code is only recognizable once the code is gone. */
function clean(text: string): string {
  return sanitizeText(stripTerminalEscapes(text))
    .replace(/[\r\n]+/g, " ")
    .slice(0, MAX_LINE_CHARS);
}

const NAMED_LEVEL = /^(debug|info|warn|error): /;

/** `Error:`/`Warning:` (our messages) or `warn: ` (a plugin's services.log) say the level. */
function levelOf(rest: string): LogLevel {
  const named = NAMED_LEVEL.exec(rest)?.[1] as LogLevel | undefined;
  if (named) return named;
  return /^Error\b/.test(rest) ? "error" : /^Warning\b/.test(rest) ? "warn" : "info";
}

/**
 * One line (or several, split on newlines). A leading `[COMPONENT]` tag becomes the component unless
 * one is given; `Error:`/`Warning:` after it raise the level when none is given.
 */
export function logLine(text: string, options: { level?: LogLevel; component?: string } = {}): void {
  for (const raw of text.split(/\r?\n/)) {
    if (raw.trim() === "") continue;
    const tag = COMPONENT.exec(raw);
    const component = options.component ?? tag?.[1];
    const rest = options.component === undefined && tag ? raw.slice(tag[0].length) : raw;
    const level = options.level ?? levelOf(rest);
    if (!logEnabled(level)) continue;
    // As the CLI's JSON lines: the message keeps its own `[COMPONENT]` tag; a given component is added.
    const msg = clean(raw);
    if (settings.format === "json") {
      const line: Record<string, string> = { level, time: new Date().toISOString(), msg };
      if (component !== undefined) line.component = clean(component);
      settings.write(`${JSON.stringify(line)}\n`);
    } else {
      settings.write(`${options.component === undefined ? "" : `[${clean(options.component)}] `}${msg}\n`);
    }
  }
}
