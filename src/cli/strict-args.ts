/**
 * The strictness citty lacks: before any command runs, every word of the command line must be a
 * subcommand, a declared flag (or its alias, camel/kebab spelling, `--no-` form of a boolean), the
 * value of a declared string flag, or one of the declared positionals. Anything else is a usage
 * problem (exit 2) with a "did you mean" where a declared name is close. The offending word is named
 * only when it is a flag name: a stray positional could be a secret pasted into the wrong place.
 */
import type { ArgDef, CommandDef } from "citty";

// biome-ignore lint/suspicious/noExplicitAny: citty's command tree is heterogeneous in its args
export type AnyCommand = CommandDef<any>;

export interface UsageProblem {
  /** The words of the command the problem belongs to, after `carapace`. */
  path: string[];
  what: string;
  fix: string;
}

async function resolve<T>(value: T | (() => T | Promise<T>) | Promise<T>): Promise<T> {
  return typeof value === "function" ? await (value as () => T | Promise<T>)() : await value;
}

function kebab(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, "$1-$2").toLowerCase();
}

function camel(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** Optimal string alignment distance (Levenshtein plus adjacent transpositions: `jsno` → `json`). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const row = d[i] as number[];
      const prev = d[i - 1] as number[];
      row[j] = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        row[j] = Math.min(row[j] as number, ((d[i - 2] as number[])[j - 2] as number) + 1);
    }
  }
  return (d[a.length] as number[])[b.length] as number;
}

/** The candidate closest to `word` if it is close enough to be a typo (or `word` is its prefix). */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const plainWord = word.replace(/-/g, "").toLowerCase();
  let best: { name: string; distance: number } | undefined;
  for (const name of candidates) {
    const distance = Math.min(editDistance(word, name), editDistance(plainWord, name.replace(/-/g, "").toLowerCase()));
    const limit = Math.max(1, Math.min(2, Math.floor(name.length / 3)));
    const prefix = word.length >= 2 && name.startsWith(word);
    if ((distance <= limit || prefix) && (best === undefined || distance < best.distance))
      best = { name, distance: prefix ? 0 : distance };
  }
  return best?.name;
}

interface Flag {
  /** How help shows it: `--name`. */
  display: string;
  takesValue: boolean;
}

interface Spec {
  long: Map<string, Flag>;
  short: Map<string, Flag>;
  positionals: string[];
}

function specOf(args: Record<string, ArgDef>): Spec {
  const spec: Spec = { long: new Map(), short: new Map(), positionals: [] };
  for (const [name, def] of Object.entries(args)) {
    if (def.type === "positional") {
      spec.positionals.push(name);
      continue;
    }
    const flag: Flag = { display: `--${name}`, takesValue: def.type === "string" || def.type === "enum" };
    const alias = (def as { alias?: string | string[] }).alias;
    const aliases = alias === undefined ? [] : Array.isArray(alias) ? alias : [alias];
    for (const spelling of new Set([name, kebab(name), camel(name)])) {
      spec.long.set(spelling, flag);
      if (!flag.takesValue) spec.long.set(`no-${spelling}`, { ...flag, display: `--no-${name}` });
    }
    for (const alias of aliases) (alias.length === 1 ? spec.short : spec.long).set(alias, flag);
  }
  return spec;
}

function helpFix(path: string[], did?: string): string {
  const help = `run \`${["carapace", ...path, "--help"].join(" ")}\` to see the arguments`;
  return did === undefined ? help : `did you mean ${did}? (or ${help})`;
}

/** Checks the words after the command's name against its declared arguments. */
function checkWords(path: string[], spec: Spec, words: readonly string[]): UsageProblem | undefined {
  const command = `\`${["carapace", ...path].join(" ")}\``;
  let positionals = 0;
  let onlyPositionals = false;
  for (let i = 0; i < words.length; i++) {
    const word = words[i] as string;
    if (!onlyPositionals && word === "--") {
      onlyPositionals = true;
      continue;
    }
    if (onlyPositionals || !word.startsWith("-") || word === "-") {
      positionals++;
      if (positionals > spec.positionals.length) {
        const takes =
          spec.positionals.length === 0
            ? "takes no arguments"
            : `takes at most ${spec.positionals.length} (${spec.positionals.map((p) => p.toUpperCase()).join(" ")})`;
        return {
          path,
          what: `${command} ${takes}; argument ${positionals} is one too many`,
          fix: `remove the extra argument, quote a value that contains spaces, or ${helpFix(path)}`,
        };
      }
      continue;
    }
    if (word.startsWith("--")) {
      const eq = word.indexOf("=");
      const name = word.slice(2, eq === -1 ? undefined : eq);
      const flag = spec.long.get(name);
      if (flag === undefined) {
        const guess = closest(
          name,
          [...spec.long.keys()].filter((k) => !k.startsWith("no-") || name.startsWith("no")),
        );
        const display = guess === undefined ? undefined : (spec.long.get(guess) as Flag).display;
        return { path, what: `${command} has no option --${name}`, fix: helpFix(path, display) };
      }
      if (flag.takesValue && eq === -1) {
        const next = words[i + 1];
        if (next === undefined || next.startsWith("--"))
          return { path, what: `${flag.display} needs a value`, fix: `write it as ${flag.display}=VALUE` };
        i++;
      }
      continue;
    }
    // One or more short flags: `-n 5`, `-n5`, `-y`.
    for (let c = 1; c < word.length; c++) {
      const letter = word[c] as string;
      const flag = spec.short.get(letter);
      if (flag === undefined) {
        const guess = spec.long.get(word.slice(1))?.display;
        return { path, what: `${command} has no option -${letter}`, fix: helpFix(path, guess) };
      }
      if (flag.takesValue) {
        if (c === word.length - 1) {
          if (words[i + 1] === undefined)
            return { path, what: `-${letter} needs a value`, fix: `write -${letter} VALUE` };
          i++;
        }
        break;
      }
    }
  }
  return undefined;
}

/**
 * The first usage problem on the command line, or undefined when every word is accounted for. Walks
 * the subcommand tree as citty does; flags given before a subcommand's name are checked against the
 * command they follow.
 */
export async function findUsageProblem(
  root: AnyCommand,
  rawArgs: readonly string[],
): Promise<UsageProblem | undefined> {
  let cmd = root;
  const path: string[] = [];
  let rest = [...rawArgs];
  for (;;) {
    const spec = specOf(((await resolve(cmd.args)) ?? {}) as Record<string, ArgDef>);
    const subs = (await resolve(cmd.subCommands)) as Record<string, AnyCommand> | undefined;
    if (subs === undefined || Object.keys(subs).length === 0) return checkWords(path, spec, rest);
    const index = rest.findIndex((w) => !w.startsWith("-"));
    const flags = index === -1 ? rest : rest.slice(0, index);
    const problem = checkWords(path, { ...spec, positionals: [] }, flags);
    if (problem !== undefined) return problem;
    if (index === -1) return undefined;
    const name = rest[index] as string;
    const next = subs[name];
    if (next === undefined) {
      const guess = closest(name, Object.keys(subs));
      const help = `run \`${["carapace", ...path, "--help"].join(" ")}\` to see the commands`;
      return {
        path,
        what: `Unknown command ${/^[a-z][a-z0-9-]{0,30}$/.test(name) ? name : "(not a command name)"}`,
        fix: guess === undefined ? help : `did you mean \`${["carapace", ...path, guess].join(" ")}\`? (or ${help})`,
      };
    }
    cmd = await resolve(next);
    path.push(name);
    rest = rest.slice(index + 1);
  }
}
