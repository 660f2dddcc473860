import { describe, expect, test } from "bun:test";
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  GUARD_EXIT,
  judgeCommand,
  judgeHookInput,
  MAX_HOOK_INPUT_BYTES,
  readInput,
  runGuardBash,
} from "../../src/ipc/guard-bash.ts";
import { runIpcBinary } from "../harness/ipc.ts";

/** Commands a compromised model might send, each of which would run more than one plain ipc call. */
const HOSTILE: [string, string][] = [
  ["semicolon", `ipc hello.echo '{}'; id`],
  ["semicolon without space", `ipc hello.echo '{}';id`],
  ["newline", `ipc hello.echo '{}'\nuname -a`],
  ["carriage return", `ipc hello.echo '{}'\r\nid`],
  ["and", `ipc hello.echo '{}' && id`],
  ["or", `ipc hello.echo '{}' || id`],
  ["pipe", `ipc hello.echo '{}' | id`],
  ["pipe stderr", `ipc hello.echo '{}' |& id`],
  ["background", `ipc hello.echo '{}' & id`],
  ["trailing background", `ipc hello.echo '{}' &`],
  ["command substitution in the tool", "ipc $(id)"],
  ["command substitution unquoted", "ipc hello.echo $(id)"],
  ["command substitution in double quotes", `ipc hello.echo "$(id)"`],
  ["command substitution after the quote", `ipc hello.echo '{}'$(id)`],
  ["backticks", "ipc hello.echo `id`"],
  ["backticks in double quotes", 'ipc hello.echo "`id`"'],
  ["process substitution", "ipc hello.echo <(id)"],
  ["output process substitution", "ipc hello.echo '{}' >(id)"],
  ["redirect out", `ipc hello.echo '{}' > /home/agent/.claude/x`],
  ["redirect clobber", `ipc hello.echo '{}' >| x`],
  ["redirect append", `ipc hello.echo '{}' >> x`],
  ["redirect stderr", `ipc hello.echo '{}' 2>&1`],
  ["redirect in", "ipc hello.echo - < /etc/passwd"],
  ["here-string", "ipc hello.echo - <<< '{}'"],
  ["here-doc", "ipc hello.echo - <<EOF\n{}\nEOF"],
  ["variable expansion", "ipc hello.echo $HOME"],
  ["braced expansion", "ipc hello.echo $" + "{HOME}"],
  ["arithmetic", "ipc hello.echo $((1+1))"],
  ["env assignment", `X=1 ipc hello.echo '{}'`],
  ["bun options assignment", `BUN_OPTIONS=--preload=/workspace/x.js ipc hello.echo '{}'`],
  ["env program", `env ipc hello.echo '{}'`],
  ["command builtin", `command ipc hello.echo '{}'`],
  ["exec builtin", `exec ipc hello.echo '{}'`],
  ["absolute path", `/usr/local/bin/ipc hello.echo '{}'`],
  ["relative path", `./ipc hello.echo '{}'`],
  ["backslash-escaped name", `\\ipc hello.echo '{}'`],
  ["quoted name", `'ipc' hello.echo '{}'`],
  ["split quoted name", `i'p'c hello.echo '{}'`],
  ["name prefix", `ipcx hello.echo '{}'`],
  ["tab separator", `ipc\thello.echo '{}'`],
  ["double space", `ipc  hello.echo '{}'`],
  ["no-break space", `ipc\u00a0hello.echo '{}'`],
  ["fullwidth semicolon", `ipc hello.echo '{}'\uff1bid`],
  ["fullwidth letter", `\uff49pc hello.echo '{}'`],
  ["cyrillic look-alike", `ip\u0441 hello.echo '{}'`],
  ["line separator", `ipc hello.echo '{}'\u2028id`],
  ["next line (C1)", `ipc hello.echo '{}'\u0085id`],
  ["zero-width space", `ip\u200bc hello.echo '{}'`],
  ["bidi override inside the quotes", `ipc hello.echo '{"m":"\u202eid"}'`],
  ["NUL", `ipc hello.echo '{}'\u0000id`],
  ["quote closed and reopened around a separator", `ipc hello.echo '{}'';id;''`],
  ["double-quoted argument", `ipc hello.echo "{}"`],
  ["double quotes hiding a separator", `ipc hello.echo '{"a":"'"$(id)"'"}'`],
  ["second quoted argument", `ipc hello.echo '{}' '; id'`],
  ["double-escaped quote", `ipc hello.echo 'a'\\\\''b'`],
  ["unterminated quote", `ipc hello.echo '{}`],
  ["comment after the argument", `ipc hello.echo '{}' #x`],
  ["glob", "ipc hello.ech*"],
  ["brace expansion", "ipc hello.echo {a,b}"],
  ["tilde", "ipc ~"],
  ["history expansion", "ipc hello.echo !!"],
  ["stdin dash", "ipc hello.echo -"],
  ["forward mode", "ipc forward"],
  ["forward mode with arguments", "ipc forward '--listen'"],
  ["guard mode", "ipc guard-bash"],
  ["option", "ipc --listen"],
  ["help with a chained command", "ipc --help; id"],
  ["help with an argument", "ipc --help '{}'"],
  ["bare ipc", "ipc"],
  ["another program", "id"],
  ["empty", ""],
  ["subshell", `(ipc hello.echo '{}')`],
  ["group", `{ ipc hello.echo '{}'; }`],
  ["upper-case tool", `ipc Hello.echo '{}'`],
  ["two dots", `ipc a.b.c '{}'`],
];

const ALLOWED: [string, string][] = [
  ["call with arguments", `ipc hello.echo '{"message":"hi"}'`],
  ["call without arguments", "ipc hello.time"],
  ["empty object", "ipc get_session_info '{}'"],
  ["full topic", `ipc tool.invoke.hello.echo '{}'`],
  ["separators inside the single quotes are literal", `ipc hello.echo '{"message":"a; b && c | d $(e) \`f\` > g"}'`],
  ["a single quote written as '\\''", `ipc hello.echo '{"message":"it'\\''s"}'`],
  ["only an escaped quote", `ipc hello.echo ''\\'''`],
  ["a separator after an escaped quote stays inside the next quote", `ipc hello.echo 'a'\\'';id'`],
  ["a space after an escaped quote stays inside the next quote", `ipc hello.echo 'a'\\'' id'`],
  ["non-ASCII text inside the quotes", `ipc hello.echo '{"message":"café ；"}'`],
  ["backslash inside the quotes", `ipc hello.echo '{"message":"a\\\\b"}'`],
  ["surrounding spaces", `  ipc hello.echo '{}'  `],
  ["help", "ipc --help"],
  ["version", "ipc --version"],
];

describe("ipc guard-bash: only one plain ipc call passes", () => {
  test.each(HOSTILE)("refuses %s", (_, command) => {
    const decision = judgeCommand(command);
    expect(decision.allow).toBe(false);
    expect(judgeHookInput({ tool_name: "Bash", tool_input: { command } }).allow).toBe(false);
  });

  test.each(ALLOWED)("lets through %s", (_, command) => {
    expect(judgeCommand(command)).toEqual({ allow: true });
    expect(judgeHookInput({ tool_name: "Bash", tool_input: { command } })).toEqual({ allow: true });
  });

  test("hook inputs that are not one foreground Bash command are refused", () => {
    for (const input of [
      null,
      "ipc hello.time",
      [],
      {},
      { tool_name: "Read", tool_input: { file_path: "/etc/passwd" } },
      { tool_name: "Bash" },
      { tool_name: "Bash", tool_input: { command: ["ipc", "hello.time"] } },
      { tool_name: "Bash", tool_input: { command: "ipc hello.time", run_in_background: true } },
      { tool_name: "Bash", tool_input: { command: "ipc hello.time", run_in_background: "yes" } },
    ]) {
      expect(judgeHookInput(input).allow).toBe(false);
    }
    expect(
      judgeHookInput({ tool_name: "Bash", tool_input: { command: "ipc hello.time", run_in_background: false } }),
    ).toEqual({ allow: true });
  });

  test("runGuardBash blocks (exit 2) on bad, oversize or refused input and passes (exit 0) an ipc call", () => {
    const input = (value: unknown) => () => Buffer.from(JSON.stringify(value));
    expect(runGuardBash(input({ tool_name: "Bash", tool_input: { command: "ipc hello.time" } }))).toBe(GUARD_EXIT.PASS);
    expect(runGuardBash(input({ tool_name: "Bash", tool_input: { command: "ipc hello.time; id" } }))).toBe(
      GUARD_EXIT.BLOCK,
    );
    expect(runGuardBash(() => Buffer.from("{not json"))).toBe(GUARD_EXIT.BLOCK);
    expect(runGuardBash(() => null)).toBe(GUARD_EXIT.BLOCK);
    expect(
      runGuardBash(() => {
        throw new Error("stdin closed");
      }),
    ).toBe(GUARD_EXIT.BLOCK);
  });
});

test("readInput reads its input to the end across chunks and gives up past the limit", () => {
  const dir = mkdtempSync(join(tmpdir(), "guard-input-"));
  try {
    const file = join(dir, "input");
    const text = "x".repeat(200_000);
    writeFileSync(file, text);
    const fd = openSync(file, "r");
    try {
      expect(readInput(MAX_HOOK_INPUT_BYTES, fd)?.toString()).toBe(text);
    } finally {
      closeSync(fd);
    }
    const again = openSync(file, "r");
    try {
      expect(readInput(100_000, again)).toBeNull();
    } finally {
      closeSync(again);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

describe("ipc guard-bash through the compiled ipc binary", () => {
  const hook = (command: string, extra: Record<string, unknown> = {}) =>
    JSON.stringify({ hook_event_name: "PreToolUse", tool_name: "Bash", tool_input: { command, ...extra } });

  test("a plain ipc call passes silently; a chained one is blocked with the reason on stderr", async () => {
    const pass = await runIpcBinary(["guard-bash"], { stdin: hook(`ipc hello.echo '{"message":"hi"}'`) });
    expect(pass.code).toBe(0);
    expect(pass.stdout).toBe("");
    expect(pass.stderr).toBe("");
    const block = await runIpcBinary(["guard-bash"], { stdin: hook(`ipc hello.echo '{}'; id`) });
    expect(block.code).toBe(2);
    expect(block.stdout).toBe("");
    expect(block.stderr).toMatch(/^\[GUARD\] Error: refused: .+\. Fix: run exactly one tool call/);
  });

  test("empty, malformed and oversize stdin are blocked, not crashed on", async () => {
    for (const stdin of ["", "not json", "x".repeat(MAX_HOOK_INPUT_BYTES + 1)]) {
      const r = await runIpcBinary(["guard-bash"], { stdin });
      expect(r.code).toBe(2);
      expect(r.stderr).toStartWith("[GUARD] Error: refused:");
    }
  });
});
