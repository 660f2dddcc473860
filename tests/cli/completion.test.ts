/** `carapace completion bash|zsh|fish` through the compiled binary; the bash script is run by bash. */
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureBinaries } from "../harness/binaries.ts";
import { tempHome } from "../harness/core.ts";
import { runCommand } from "../harness/run.ts";

const env = (home: string) => ({ PATH: "/usr/bin:/bin", HOME: home, CARAPACE_HOME: home, TMPDIR: "/tmp" });

async function script(shell: string): Promise<string> {
  const home = tempHome();
  const r = await runCommand([ensureBinaries().carapace, "completion", shell], { env: env(home) });
  expect(r.code).toBe(0);
  return r.stdout;
}

/** What bash offers after typing `words` (the last one partial), using the generated function. */
async function bashOffers(file: string, words: string[]): Promise<string[]> {
  const line = `source ${file}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _carapace; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = await runCommand(["bash", "-c", line], { env: { PATH: "/usr/bin:/bin" } });
  expect(r.stderr).toBe("");
  return r.stdout.split("\n").filter((l) => l !== "");
}

describe("shell completion", () => {
  test("bash completes commands, subcommands and each command's own flags", async () => {
    const file = join(tempHome(), "carapace.bash");
    writeFileSync(file, await script("bash"));
    expect((await runCommand(["bash", "-n", file], { env: { PATH: "/usr/bin:/bin" } })).code).toBe(0);
    expect(await bashOffers(file, ["carapace", "au"])).toEqual(["audit", "auth"]);
    expect(await bashOffers(file, ["carapace", "audit", ""])).toEqual(
      expect.arrayContaining(["verify", "tail", "--help"]),
    );
    expect(await bashOffers(file, ["carapace", "audit", "tail", "--g"])).toEqual(["--group"]);
    expect(await bashOffers(file, ["carapace", "--json", "uninstall", "--dry"])).toEqual(["--dry-run"]);
    expect(await bashOffers(file, ["carapace", "tools", "--"])).toContain("--group");
    expect(await bashOffers(file, ["carapace", "comp"])).toEqual(["completion"]);
  });

  test("zsh loads the bash function through bashcompinit; fish gets one complete line per command and flag", async () => {
    const zsh = await script("zsh");
    expect(zsh).toContain("autoload -U +X bashcompinit && bashcompinit");
    expect(zsh).toContain("complete -F _carapace carapace");
    const fish = await script("fish");
    for (const command of ["start", "setup", "uninstall", "tools", "completion", "audit"])
      expect(fish).toContain(`complete -c carapace -n '__fish_use_subcommand' -a ${command} -d `);
    expect(fish).toContain(
      "complete -c carapace -n '__fish_seen_subcommand_from audit; and __fish_seen_subcommand_from tail' -l group -r",
    );
  });

  test("an unknown shell is a usage error", async () => {
    const r = await runCommand([ensureBinaries().carapace, "completion", "tcsh"], { env: env(tempHome()) });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("Unknown command tcsh");
  });
});
