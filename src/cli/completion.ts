/**
 * `carapace completion bash|zsh|fish`: a completion script generated from the command tree itself, so
 * every command and flag (including ones added later) completes. zsh runs the bash function through
 * bashcompinit.
 */
import { defineCommand } from "citty";
import { type CommandNode, commandTree } from "./command-tree.ts";
import BASH_TEMPLATE from "./completion.bash" with { type: "text" };
import { EXIT } from "./errors.ts";
import type { AnyCommand } from "./strict-args.ts";

const singleQuoted = (text: string) => `'${text.replaceAll("'", "'\\''")}'`;

export function bashCompletion(nodes: readonly CommandNode[]): string {
  const paths = nodes.filter((n) => n.path.length > 0).map((n) => n.path.join("/"));
  const cases = nodes.map((n) => {
    const words = [...n.subcommands, ...n.flags.map((f) => f.name)].join(" ");
    return `    ${singleQuoted(n.path.join("/"))}) words=${singleQuoted(words)} ;;`;
  });
  return BASH_TEMPLATE.replace("' @PATHS@ '", () => singleQuoted(` ${paths.join(" ")} `)).replace("    # @CASES@", () =>
    cases.join("\n"),
  );
}

export function zshCompletion(nodes: readonly CommandNode[]): string {
  return [
    '# carapace completion for zsh: eval "$(carapace completion zsh)" in ~/.zshrc',
    "autoload -U +X bashcompinit && bashcompinit",
    bashCompletion(nodes).split("\n").slice(1).join("\n"),
  ].join("\n");
}

export function fishCompletion(nodes: readonly CommandNode[]): string {
  const lines = ["# carapace completion for fish: carapace completion fish > ~/.config/fish/completions/carapace.fish"];
  lines.push("complete -c carapace -f");
  for (const n of nodes) {
    // The condition: the words of this command's path were typed, and none of its subcommands yet.
    const seen = n.path.map((w) => `__fish_seen_subcommand_from ${w}`);
    const notYet = n.subcommands.length > 0 ? [`not __fish_seen_subcommand_from ${n.subcommands.join(" ")}`] : [];
    const condition = n.path.length === 0 ? ["__fish_use_subcommand"] : [...seen, ...notYet];
    const when = singleQuoted(condition.join("; and "));
    for (const sub of n.subcommands) {
      const summary = nodes.find((c) => c.path.join(" ") === [...n.path, sub].join(" "))?.summary ?? "";
      lines.push(`complete -c carapace -n ${when} -a ${sub} -d ${singleQuoted(summary.slice(0, 80))}`);
    }
    for (const f of n.flags) {
      const option = f.name.startsWith("--") ? `-l ${f.name.slice(2)}` : `-s ${f.name.slice(1)}`;
      lines.push(
        `complete -c carapace -n ${when} ${option}${f.takesValue ? " -r" : ""} -d ${singleQuoted(f.description.slice(0, 80))}`,
      );
    }
  }
  return `${lines.join("\n")}\n`;
}

const SHELLS = { bash: bashCompletion, zsh: zshCompletion, fish: fishCompletion } as const;

export function completionCommand(root: () => AnyCommand) {
  const forShell = (shell: keyof typeof SHELLS) =>
    defineCommand({
      meta: {
        name: shell,
        description: `Print the ${shell} completion script.\nExit codes: 0 printed.`,
      },
      run: async () => {
        process.stdout.write(SHELLS[shell](await commandTree(root())));
        process.exitCode = EXIT.ok;
      },
    });
  return defineCommand({
    meta: {
      name: "completion",
      description:
        'Print a shell completion script: eval "$(carapace completion bash)" (or zsh) in your rc file; fish: carapace completion fish > ~/.config/fish/completions/carapace.fish.\n' +
        "Exit codes: 0 printed; 2 usage (unknown shell).",
    },
    subCommands: { bash: forShell("bash"), zsh: forShell("zsh"), fish: forShell("fish") },
  });
}
