/** Every command of the CLI as data (path, summary, subcommands, flags), walked from the root command. */
import type { ArgDef } from "citty";
import type { AnyCommand } from "./strict-args.ts";

export interface CommandNode {
  /** Words after `carapace`; [] is the root. */
  path: string[];
  summary: string;
  subcommands: string[];
  /** `--name` (and `-x` aliases); `takesValue` for string and enum flags. */
  flags: { name: string; takesValue: boolean; description: string }[];
}

async function resolve<T>(value: T | (() => T | Promise<T>) | Promise<T>): Promise<T> {
  return typeof value === "function" ? await (value as () => T | Promise<T>)() : await value;
}

export async function commandTree(root: AnyCommand): Promise<CommandNode[]> {
  const nodes: CommandNode[] = [];
  const walk = async (cmd: AnyCommand, path: string[]): Promise<void> => {
    const meta = await resolve(cmd.meta);
    const args = ((await resolve(cmd.args)) ?? {}) as Record<string, ArgDef>;
    const subs = ((await resolve(cmd.subCommands)) ?? {}) as Record<string, AnyCommand>;
    const flags: CommandNode["flags"] = [];
    for (const [name, def] of Object.entries(args)) {
      if (def.type === "positional") continue;
      const takesValue = def.type === "string" || def.type === "enum";
      const description = (def.description ?? "").split("\n")[0] ?? "";
      flags.push({ name: `--${name}`, takesValue, description });
      if (def.type === "boolean" && def.default === true) flags.push({ name: `--no-${name}`, takesValue, description });
      const alias = (def as { alias?: string | string[] }).alias;
      for (const a of alias === undefined ? [] : Array.isArray(alias) ? alias : [alias])
        flags.push({ name: a.length === 1 ? `-${a}` : `--${a}`, takesValue, description });
    }
    flags.push({ name: "--help", takesValue: false, description: "Show this command's help" });
    nodes.push({
      path,
      summary: (meta?.description ?? "").split("\n")[0] ?? "",
      subcommands: Object.keys(subs),
      flags,
    });
    for (const [name, sub] of Object.entries(subs)) await walk(await resolve(sub), [...path, name]);
  };
  await walk(root, []);
  return nodes;
}
