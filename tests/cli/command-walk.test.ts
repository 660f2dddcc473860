/**
 * Walks every command listed in `carapace --help` (recursively) through the compiled binary and holds
 * each one to the CLI's rules. A command added later is checked the same way; each failure says
 * exactly what to change.
 */
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureBinaries } from "../harness/binaries.ts";
import { tempHome } from "../harness/core.ts";
import { runCommand } from "../harness/run.ts";

/**
 * Commands without --json, each with the reason a script has nothing to parse. Everything else must
 * take --json (mutating commands included: a script wants to know what changed).
 */
const NO_JSON: Record<string, string> = {
  start: "runs the core in the foreground; off a terminal its log lines are already JSON",
  logs: "prints the log file's own lines, which are JSON when the core ran off a terminal",
  "config path": "prints one path, which is what a script reads",
  "completion bash": "prints a shell script",
  "completion zsh": "prints a shell script",
  "completion fish": "prints a shell script",
  "auth api-key": "reads a secret; `carapace auth status --json` reports the result",
  "auth login": "reads a secret; `carapace auth status --json` reports the result",
  "plugin create": "a scaffolder for a person; `carapace plugin validate --json` reports on what it wrote",
  "image build": "shows build progress; `carapace image status --json` reports the result",
  update: "replaces the executables; `carapace --version` reports the result",
  setup: "guided onboarding for a person; `carapace doctor --json` reports the state it reached",
  demo: "a walkthrough for a person; its exit code says whether the session completed",
  chat: "a conversation for a person; `carapace prompt --json --conversation <id>` is the same turn for a script",
};

interface Command {
  path: string[];
  help: string;
  /** The one-line summary the parent's COMMANDS table shows. */
  summary: string;
}

const env = (home: string) => ({
  PATH: "/usr/bin:/bin",
  HOME: home,
  CARAPACE_HOME: home,
  TMPDIR: "/tmp",
  NO_COLOR: "1",
});

/**
 * Should the strict layer ever let a word through, the command would really run: in a home whose
 * runtime is absent and whose image tag is its own (so nothing builds or touches shared images),
 * and stopped after 30 s (`start` would otherwise run for ever).
 */
async function carapace(args: string[]) {
  const home = tempHome();
  writeFileSync(
    join(home, "config.toml"),
    '[runtime]\nengine = "apple"\nimage = "localhost/carapace-walk-test:never"\n',
  );
  return runCommand(["timeout", "-s", "KILL", "30", ensureBinaries().carapace, ...args], { env: env(home) });
}

function section(help: string, name: string): string {
  return help.split(new RegExp(`^${name}$`, "m"))[1]?.split(/^(?:[A-Z]+|Use .*)$/m)[0] ?? "";
}

function listed(help: string): { name: string; summary: string }[] {
  return section(help, "COMMANDS")
    .split("\n")
    .map((line) => /^\s+([a-z][a-z-]*)\s{2,}(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ name: m[1] as string, summary: (m[2] as string).trim() }));
}

function longOptions(help: string): string[] {
  return [...section(help, "OPTIONS").matchAll(/--([a-z][a-z0-9-]+)/g)].map((m) => m[1] as string);
}

function positionalCount(help: string): number {
  return section(help, "ARGUMENTS")
    .split("\n")
    .filter((l) => /^\s+[A-Z][A-Z_]*\s{2,}/.test(l)).length;
}

/** The description citty prints first, without its `(carapace … vX)` tail. */
function description(help: string): string[] {
  const head = help.split(/^USAGE /m)[0] ?? "";
  return head
    .replace(/ \(carapace[^()]*\)\s*$/, "")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
}

/** A line that ends mid-sentence: no closing full stop, question mark, exclamation mark or colon. */
const ENDS_A_SENTENCE = /[.!?:][)`'"]?$/;

async function leafCommands(): Promise<Command[]> {
  const leaves: Command[] = [];
  const walk = async (path: string[], summary: string): Promise<void> => {
    const r = await carapace([...path, "--help"]);
    if (r.code !== 0) throw new Error(`\`carapace ${path.join(" ")} --help\` exited ${r.code}: ${r.stderr}`);
    const subs = listed(r.stdout);
    if (subs.length === 0) leaves.push({ path, help: r.stdout, summary });
    for (const sub of subs) await walk([...path, sub.name], sub.summary);
  };
  await walk([], "");
  return leaves;
}

/** A near miss of a flag name: two middle letters swapped (`--json` → `--jsno`). */
/** Two neighbouring letters swapped, near the middle (where they differ: "command" keeps its "mm"). */
function typo(name: string): string {
  for (let i = Math.floor(name.length / 2); i < name.length; i++) {
    if (name[i] === name[i - 1]) continue;
    return name.slice(0, i - 1) + (name[i] as string) + (name[i - 1] as string) + name.slice(i + 1);
  }
  return `${name}x`;
}

/**
 * Runs the command with its stdout a pipe whose reader has already gone, the way
 * `carapace config list | head -1` ends: the reader closes its end, then tells the writer to start.
 */
async function withClosedPipe(args: string[]) {
  const home = tempHome();
  const bin = ensureBinaries().carapace;
  const quoted = [bin, ...args].map((a) => `'${a}'`).join(" ");
  const script = `f="$(mktemp -u)"; mkfifo "$f"; { read -r _ < "$f"; ${quoted}; echo "exit $?" >&2; } | { exec 0<&-; echo go > "$f"; }; rm -f "$f"`;
  return runCommand(["sh", "-c", script], { env: env(home) });
}

const leaves = await leafCommands();

describe("every command follows the CLI's rules", () => {
  const name = (c: Command) => `carapace ${c.path.join(" ")}`;

  test("the walk found the commands", () => {
    const names = leaves.map((c) => c.path.join(" "));
    for (const expected of ["status", "config list", "audit tail", "uninstall", "setup", "call"])
      expect(names).toContain(expected);
  });

  test("an unknown flag exits 2 before the command runs, and a near miss gets a suggestion", async () => {
    const problems: string[] = [];
    for (const c of leaves) {
      const unknown = await carapace([...c.path, "--no-such-flag-here"]);
      if (unknown.code !== 2 || !unknown.stderr.includes("has no option --no-such-flag-here"))
        problems.push(
          `${name(c)} --no-such-flag-here exited ${unknown.code} (want 2 with "has no option"): route it through runCli in src/main.ts and declare its args in defineCommand({ args }) instead of reading rawArgs`,
        );
      const option = longOptions(c.help).find((o) => o.length >= 4 && !o.startsWith("no-"));
      if (option === undefined) continue;
      const near = await carapace([...c.path, `--${typo(option)}`]);
      if (near.code !== 2 || !near.stderr.includes(`did you mean --${option}?`))
        problems.push(
          `${name(c)} --${typo(option)} did not suggest --${option}: see closest() in src/cli/strict-args.ts`,
        );
    }
    expect(problems).toEqual([]);
  }, 300_000);

  test("one argument more than the command declares exits 2 without echoing it", async () => {
    const problems: string[] = [];
    for (const c of leaves) {
      const words = Array.from({ length: positionalCount(c.help) + 1 }, (_, i) => `extra-word-${i}`);
      const r = await carapace([...c.path, ...words]);
      if (r.code !== 2 || !r.stderr.includes("is one too many"))
        problems.push(
          `${name(c)} ${words.join(" ")} exited ${r.code} (want 2, "is one too many"): declare every positional in its args; nothing may read args._`,
        );
      if (r.stderr.includes(`extra-word-${words.length - 1}`))
        problems.push(`${name(c)}: the usage error repeats the stray argument (it could be a pasted secret)`);
    }
    expect(problems).toEqual([]);
  }, 300_000);

  test("every command whose output a script would read takes --json", () => {
    const missing = leaves
      .filter((c) => NO_JSON[c.path.join(" ")] === undefined && !longOptions(c.help).includes("json"))
      .map(
        (c) =>
          `${name(c)} has no --json: add json: { type: "boolean", description: "Print JSON", default: false } to its args and print one JSON document with it, or add "${c.path.join(" ")}" to NO_JSON in tests/cli/command-walk.test.ts with the reason`,
      );
    expect(missing).toEqual([]);
  });

  test("help is complete: usage starts with `carapace`, no sentence is cut, exit codes are documented", () => {
    const problems: string[] = [];
    for (const c of leaves) {
      if (!new RegExp(`^USAGE ${name(c)}\\b`, "m").test(c.help))
        problems.push(
          `${name(c)}: the USAGE line does not start with \`${name(c)}\` (see usageText in src/cli/run-main.ts)`,
        );
      for (const line of description(c.help))
        if (!ENDS_A_SENTENCE.test(line))
          problems.push(
            `${name(c)}: description line "${line}" ends mid-sentence: end every line of meta.description with a full sentence`,
          );
      if (!ENDS_A_SENTENCE.test(c.summary))
        problems.push(
          `${name(c)}: its summary in the parent's COMMANDS list "${c.summary}" is cut: make the first line of meta.description one whole sentence`,
        );
      if (!c.help.includes("Exit codes"))
        problems.push(`${name(c)}: meta.description does not document its exit codes`);
    }
    expect(problems).toEqual([]);
  });

  test("output into a pipe whose reader has gone ends without a Bun stack trace", async () => {
    const problems: string[] = [];
    const runs = [...leaves.map((c) => [...c.path, "--help"]), ["config", "list"], ["audit", "tail"], ["--help"]];
    for (const args of runs) {
      const r = await withClosedPipe(args);
      if (!/^exit \d+$/m.test(r.stderr))
        problems.push(`carapace ${args.join(" ")} | (closed): did not run: ${r.stderr}`);
      else if (/EPIPE|Bun v\d|\bat .*\(/.test(r.stderr))
        problems.push(
          `carapace ${args.join(" ")} | (closed): ${r.stderr.split("\n")[0]} — see dropOutputAfterPipeCloses in src/cli/output.ts`,
        );
    }
    expect(problems).toEqual([]);
  }, 300_000);
});
