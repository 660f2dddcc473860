/**
 * `ipc guard-bash`: Claude Code's PreToolUse hook for the Bash tool (wired in the image's managed
 * settings, exec form, no shell). It reads the hook's JSON on stdin and lets a command through only
 * when it is one plain `ipc` call whose arguments are literal, so `Bash(ipc:*)` means exactly that:
 * no `;`, newline, `&&`, `||`, `|`, `&`, substitution, redirection, environment assignment, path trick
 * or quoting that a shell would expand. Anything else exits 2, which Claude Code treats as a block and
 * whose stderr the model sees. The decision is fail-closed: unreadable input is a block too.
 */
import { readSync } from "node:fs";
import { TOOL_INVOKE_PREFIX, TOOL_NAME_PATTERN } from "../protocol/topics.ts";

/** Exit codes Claude Code gives meaning to: 0 lets the normal permission rules decide, 2 blocks. */
export const GUARD_EXIT = { PASS: 0, BLOCK: 2 } as const;

/** Hook input larger than this is refused unread (a Bash command has no business being this long). */
export const MAX_HOOK_INPUT_BYTES = 1 << 20;

export const ALLOWED_SHAPE = "ipc <tool> '<json-object>'";

export type GuardDecision = { allow: true } | { allow: false; reason: string };

const deny = (reason: string): GuardDecision => ({ allow: false, reason });

/**
 * Characters no accepted command may hold anywhere, quoted or not: controls (C0, DEL, C1, so no
 * newline or carriage return), line and paragraph separators, and invisible format characters such as
 * bidi overrides and zero-width joiners that make a command read differently than it runs.
 */
const FORBIDDEN_ANYWHERE = /[\p{Cc}\p{Cf}\u2028\u2029]/u;
/** Outside the quoted argument only these: a shell metacharacter or a look-alike never appears there. */
const PLAIN_WORD = /^[A-Za-z0-9_.-]+$/;

const ESCAPED_QUOTE = "'\\''";

/** ipc's own modes: never a tool call, so never reachable from the Bash tool. */
const RESERVED_MODES = new Set(["forward", "guard-bash"]);

function isToolName(word: string): boolean {
  if (RESERVED_MODES.has(word)) return false;
  const tool = word.startsWith(TOOL_INVOKE_PREFIX) ? word.slice(TOOL_INVOKE_PREFIX.length) : word;
  return TOOL_NAME_PATTERN.test(tool);
}

/**
 * The accepted grammar, nothing more: `ipc --help`, `ipc --version`, `ipc <tool>` and
 * `ipc <tool> '<text>'` where the text holds a single quote only as '\'', words separated by single
 * spaces. Inside single quotes a POSIX shell expands nothing, so the argument reaches ipc byte for byte.
 */
export function judgeCommand(command: string): GuardDecision {
  if (FORBIDDEN_ANYWHERE.test(command)) {
    return deny("the command holds a newline, control or invisible character");
  }
  const trimmed = command.replace(/^ +| +$/g, "");
  if (trimmed !== "ipc" && !trimmed.startsWith("ipc ")) {
    return deny("only the ipc program may run, called by its plain name");
  }
  const rest = trimmed.slice(4);
  const space = rest.indexOf(" ");
  const tool = space === -1 ? rest : rest.slice(0, space);
  const argument = space === -1 ? null : rest.slice(space + 1);
  if (tool === "--help" || tool === "--version") {
    return argument === null ? { allow: true } : deny(`ipc ${tool} takes no argument`);
  }
  if (!PLAIN_WORD.test(tool) || !isToolName(tool)) {
    return deny(`'${tool}' is not a tool name (lower-case letters, digits, _ and one dot)`);
  }
  if (argument === null) return { allow: true };
  if (argument.length < 2 || !argument.startsWith("'") || !argument.endsWith("'")) {
    return deny("the arguments must be one single-quoted JSON object and nothing after it");
  }
  // The one quote idiom a shell reads without expanding anything: '\'' ends the quote, adds an escaped
  // literal quote and starts a new one, all in the same word.
  if (
    argument
      .slice(1, -1)
      .split(ESCAPED_QUOTE)
      .some((piece) => piece.includes("'"))
  ) {
    return deny(`a single quote inside the single-quoted arguments must be written as ${ESCAPED_QUOTE}`);
  }
  return { allow: true };
}

/** Judges Claude Code's PreToolUse input (the parsed stdin JSON). */
export function judgeHookInput(input: unknown): GuardDecision {
  if (typeof input !== "object" || input === null) return deny("the hook input is not a JSON object");
  const { tool_name: toolName, tool_input: toolInput } = input as Record<string, unknown>;
  if (toolName !== "Bash") return deny(`this guard judges only the Bash tool, not ${String(toolName)}`);
  if (typeof toolInput !== "object" || toolInput === null) return deny("the Bash tool input is missing");
  const { command, run_in_background: background } = toolInput as Record<string, unknown>;
  if (typeof command !== "string") return deny("the Bash tool input has no command");
  if (background !== undefined && background !== false) return deny("ipc calls do not run in the background");
  return judgeCommand(command);
}

/** Reads fd (stdin) to its end; null once more than limit bytes arrived. */
export function readInput(limit: number, fd = 0): Buffer | null {
  const chunks: Buffer[] = [];
  let total = 0;
  const chunk = Buffer.alloc(64 * 1024);
  for (;;) {
    let n: number;
    try {
      n = readSync(fd, chunk, 0, chunk.length, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EAGAIN") continue;
      if ((e as NodeJS.ErrnoException).code === "EOF") break;
      throw e;
    }
    if (n === 0) break;
    total += n;
    if (total > limit) return null;
    chunks.push(Buffer.from(chunk.subarray(0, n)));
  }
  return Buffer.concat(chunks);
}

/** The hook's entry: stdin → decision; the reason goes to stderr, where Claude Code shows it the model. */
export function runGuardBash(read: () => Buffer | null = () => readInput(MAX_HOOK_INPUT_BYTES)): number {
  let decision: GuardDecision;
  try {
    const raw = read();
    decision =
      raw === null
        ? deny(`the hook input is larger than ${MAX_HOOK_INPUT_BYTES} bytes`)
        : judgeHookInput(JSON.parse(raw.toString("utf8")));
  } catch {
    decision = deny("the hook input is not valid JSON");
  }
  if (decision.allow) return GUARD_EXIT.PASS;
  process.stderr.write(
    `[GUARD] Error: refused: ${decision.reason}. Fix: run exactly one tool call, ${ALLOWED_SHAPE}, with nothing before or after it.\n`,
  );
  return GUARD_EXIT.BLOCK;
}
