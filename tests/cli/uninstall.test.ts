import { describe, expect, test } from "bun:test";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join, relative } from "node:path";
import { formatBytes } from "../../src/cli/disk-usage.ts";
import { INSTALL_MARKER, withoutMarkedLines } from "../../src/cli/rc-files.ts";
import { assertRemovableHome, listAgentImages } from "../../src/cli/uninstall-plan.ts";
import type { Exec } from "../../src/container/exec.ts";
import { ensureBinaries } from "../harness/binaries.ts";
import { startCore, tempHome } from "../harness/core.ts";
import { runCommand } from "../harness/run.ts";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** An empty PATH directory: no container runtime is found, so the machine's agent images are never touched. */
const NO_RUNTIME_PATH = "/nonexistent-carapace-test-path";

async function carapace(args: string[], env: Record<string, string>): Promise<Run> {
  const { carapace: bin } = ensureBinaries();
  return runCommand([bin, ...args], { env });
}

const PATH_LINE = `export PATH="$HOME/.carapace/bin:$PATH" ${INSTALL_MARKER}\n`;
const FISH_LINE = `fish_add_path $HOME/.carapace/bin ${INSTALL_MARKER}\n`;

/** rc files with the user's own content around one marked line each, as bytes. */
const RC: Record<string, { before: Buffer; after: Buffer }> = {
  ".bashrc": {
    before: Buffer.from(`# my bashrc\nalias ll='ls -l'\n\n${PATH_LINE}export EDITOR=vim`),
    after: Buffer.from("# my bashrc\nalias ll='ls -l'\n\nexport EDITOR=vim"),
  },
  ".zshrc": {
    // CRLF endings and a Latin-1 byte that is not UTF-8 must survive untouched.
    before: Buffer.concat([
      Buffer.from(`setopt autocd\r\n${PATH_LINE.replace("\n", "\r\n")}# caf`),
      Buffer.from([0xe9]),
      Buffer.from("\r\n"),
    ]),
    after: Buffer.concat([Buffer.from("setopt autocd\r\n# caf"), Buffer.from([0xe9]), Buffer.from("\r\n")]),
  },
  ".profile": {
    before: Buffer.from(`${PATH_LINE}# carapace is mentioned here but this line is mine\n`),
    after: Buffer.from("# carapace is mentioned here but this line is mine\n"),
  },
  ".config/fish/config.fish": {
    before: Buffer.from(`set -g fish_greeting\n${FISH_LINE}`),
    after: Buffer.from("set -g fish_greeting\n"),
  },
};

interface Installed {
  user: string;
  home: string;
  env: Record<string, string>;
}

/** A user home with an installed Carapace: home created by the binary, bin/carapace, marked rc files. */
async function installed(options: { withRuntime?: boolean } = {}): Promise<Installed> {
  const user = tempHome();
  const home = join(user, ".carapace");
  const env = {
    PATH: options.withRuntime ? "/usr/bin:/bin" : NO_RUNTIME_PATH,
    HOME: user,
    CARAPACE_HOME: home,
    TMPDIR: "/tmp",
  };
  const set = await carapace(["config", "set", "hello.enabled", "true"], env);
  expect(set.code).toBe(0);
  mkdirSync(join(home, "bin"), { recursive: true });
  copyFileSync(ensureBinaries().ipc, join(home, "bin", "carapace"));
  chmodSync(join(home, "bin", "carapace"), 0o755);
  writeFileSync(join(home, "data", "memory", "default.db"), "x".repeat(5000));
  writeFileSync(join(home, "credentials", "anthropic_api_key"), "sk-test", { mode: 0o600 });
  for (const [name, { before }] of Object.entries(RC)) {
    mkdirSync(join(user, name, ".."), { recursive: true });
    writeFileSync(join(user, name), before, { mode: 0o640 });
  }
  return { user, home, env };
}

/** A file's bytes, compared as hex so a difference shows where it is. */
function hex(path: string): string {
  return readFileSync(path).toString("hex");
}

/** Every path under `dir` with its size and mode: what "nothing changed" compares. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (path: string) => {
    const s = lstatSync(path);
    out.push(`${relative(dir, path)} ${s.mode.toString(8)} ${s.isFile() ? s.size : "-"}`);
    if (s.isDirectory()) for (const name of readdirSync(path).sort()) walk(join(path, name));
  };
  walk(dir);
  return out;
}

describe("carapace uninstall through the compiled binary", () => {
  test("--dry-run lists the home by entry with sizes, the executables and the marked lines, and changes nothing", async () => {
    const { user, home, env } = await installed();
    const before = snapshot(user);
    const r = await carapace(["uninstall", "--dry-run"], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`$CARAPACE_HOME ${home}: the whole directory`);
    for (const entry of ["bin/", "config.toml", "credentials/", "data/", "version"])
      expect(r.stdout).toMatch(new RegExp(`  remove ${entry.replace(".", "\\.")}\\s+\\d`));
    expect(r.stdout).toMatch(/remove data\/\s+5\.0 KB/);
    const binSize = formatBytes(statSync(join(home, "bin", "carapace")).size);
    expect(r.stdout).toContain(`remove ${join(home, "bin", "carapace")} (${binSize})`);
    for (const name of Object.keys(RC)) expect(r.stdout).toContain(`remove from ${join(user, name)}: `);
    expect(r.stdout).toContain("Container runtime: no container runtime answers");
    expect(r.stdout).toContain("Dry run: nothing was changed.");
    expect(snapshot(user)).toEqual(before);
    for (const [name, { before: bytes }] of Object.entries(RC))
      expect(hex(join(user, name))).toBe(bytes.toString("hex"));
  });

  test("--yes removes the home and its executables; rc files keep every byte but Carapace's lines", async () => {
    const { user, home, env } = await installed();
    const r = await carapace(["uninstall", "--yes"], env);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Carapace is uninstalled");
    expect(existsSync(home)).toBe(false);
    for (const [name, { after }] of Object.entries(RC)) {
      expect(hex(join(user, name))).toBe(after.toString("hex"));
      expect(statSync(join(user, name)).mode & 0o777).toBe(0o640);
    }
  });

  test("a symlinked rc file is edited at its target and stays a link", async () => {
    const { user, env } = await installed();
    const target = join(user, "dotfiles-bashrc");
    copyFileSync(join(user, ".bashrc"), target);
    Bun.spawnSync(["rm", join(user, ".bashrc")]);
    symlinkSync(target, join(user, ".bashrc"));
    const r = await carapace(["uninstall", "--yes"], env);
    expect(r.code).toBe(0);
    expect(lstatSync(join(user, ".bashrc")).isSymbolicLink()).toBe(true);
    expect(hex(target)).toBe(RC[".bashrc"]?.after.toString("hex") ?? "missing fixture");
  });

  test("--keep-data keeps data/ and credentials/ and removes the rest", async () => {
    const { home, env } = await installed();
    const r = await carapace(["uninstall", "--yes", "--keep-data"], env);
    expect(r.code).toBe(0);
    expect(readdirSync(home).sort()).toEqual(["credentials", "data"]);
    expect(readFileSync(join(home, "credentials", "anthropic_api_key"), "utf8")).toBe("sk-test");
    expect(existsSync(join(home, "data", "memory", "default.db"))).toBe(true);
  });

  test("without a terminal and without --yes nothing is removed (exit 2)", async () => {
    const { user, env } = await installed();
    const before = snapshot(user);
    const r = await carapace(["uninstall"], env);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(
      "[UNINSTALL] Error: there is no terminal to confirm the removal, so nothing was removed. " +
        "Fix: pass --yes to remove without a question (or --dry-run to only list).",
    );
    expect(snapshot(user)).toEqual(before);
  });

  test("a running core: warned about, refused without --yes, stopped first with --yes", async () => {
    const user = tempHome();
    const home = join(user, "c");
    const core = await startCore({ home });
    const env = { PATH: NO_RUNTIME_PATH, HOME: user, CARAPACE_HOME: home, TMPDIR: "/tmp" };
    const session = await core.openSession();
    expect(session.id).toBeTruthy();

    const dry = await carapace(["uninstall", "--dry-run"], env);
    expect(dry.stdout).toMatch(/A Carapace core is running \(pid \d+\) with 1 open session/);

    const refused = await carapace(["uninstall"], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /^\[UNINSTALL\] Error: a Carapace core is running .*Fix: stop it with `carapace stop`/,
    );
    expect(existsSync(home)).toBe(true);
    expect(core.proc.exitCode).toBeNull();

    const r = await carapace(["uninstall", "--yes"], env);
    expect(r.code).toBe(0);
    expect(await core.proc.exited).toBe(0);
    expect(existsSync(home)).toBe(false);
  }, 30_000);

  test("a directory that is not a Carapace home, or one holding the user's home, is refused", async () => {
    const user = tempHome();
    const notHome = join(user, "stuff");
    mkdirSync(notHome);
    writeFileSync(join(notHome, "precious.txt"), "keep me");
    const env = { PATH: NO_RUNTIME_PATH, HOME: user, TMPDIR: "/tmp" };
    const r = await carapace(["uninstall", "--yes"], { ...env, CARAPACE_HOME: notHome });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("does not look like a Carapace home; nothing was removed");
    expect(readFileSync(join(notHome, "precious.txt"), "utf8")).toBe("keep me");

    const whole = await carapace(["uninstall", "--yes"], { ...env, CARAPACE_HOME: user });
    expect(whole.code).toBe(1);
    expect(whole.stderr).toContain("which is or contains your home directory");
    expect(existsSync(join(notHome, "precious.txt"))).toBe(true);
  });

  const hasPodman = Bun.spawnSync(["sh", "-c", "command -v podman"]).exitCode === 0;
  test.skipIf(!hasPodman)("--dry-run with Podman lists the agent images and managed containers", async () => {
    const { env } = await installed({ withRuntime: true });
    const images = Bun.spawnSync([
      "podman",
      "images",
      "--filter",
      "reference=localhost/carapace-agent",
      "--format",
      "{{.Repository}}:{{.Tag}}",
    ])
      .stdout.toString()
      .split("\n")
      .filter((l) => l !== "" && !l.endsWith(":<none>"));
    const r = await carapace(["uninstall", "--dry-run"], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Container runtime: podman \d/);
    expect(r.stdout).toContain("Containers labelled io.carapace.managed=true:");
    for (const ref of images) expect(r.stdout).toContain(`remove ${ref} (`);
    if (images.length === 0) expect(r.stdout).toContain("Agent images:\n    (none)");
  });
});

describe("uninstall pieces", () => {
  test("only lines carrying the marker go; everything else stays byte for byte", () => {
    const text = `a\n${PATH_LINE}b # added by carapace\n\nlast ${INSTALL_MARKER}`;
    expect(withoutMarkedLines(text)).toEqual({
      text: "a\nb # added by carapace\n\n",
      removed: [PATH_LINE.trimEnd(), `last ${INSTALL_MARKER}`],
    });
    expect(withoutMarkedLines("no marker\r\nhere").text).toBe("no marker\r\nhere");
    expect(withoutMarkedLines("")).toEqual({ text: "", removed: [] });
  });

  test("agent images are parsed from the runtime's listing; untagged ones are left out", async () => {
    const calls: string[][] = [];
    const exec: Exec = {
      run: async (argv) => {
        calls.push([...argv]);
        return {
          code: 0,
          stdout:
            "localhost/carapace-agent:0.1.0\t636 MB\nlocalhost/carapace-agent:<none>\t600 MB\nlocalhost/other:1\t1 MB\n",
          stderr: "",
        };
      },
      spawn: () => {
        throw new Error("not used");
      },
    };
    expect(await listAgentImages(exec, "podman")).toEqual([{ ref: "localhost/carapace-agent:0.1.0", size: "636 MB" }]);
    expect(calls[0]?.slice(0, 4)).toEqual(["podman", "images", "--filter", "reference=localhost/carapace-agent"]);
  });

  test("the filesystem root and homes that contain the user's home are never removable", () => {
    expect(() => assertRemovableHome("/", "/home/u")).toThrow("is or contains your home directory");
    expect(() => assertRemovableHome("/home", "/home/u")).toThrow("is or contains your home directory");
    expect(() => assertRemovableHome("/home/u/", "/home/u")).toThrow("is or contains your home directory");
    expect(() => assertRemovableHome("/home/u/.carapace-never-created", "/home/u")).not.toThrow();
  });

  test("sizes read the way container runtimes print them", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(999)).toBe("999 B");
    expect(formatBytes(5000)).toBe("5.0 KB");
    expect(formatBytes(636_000_000)).toBe("636 MB");
  });
});
