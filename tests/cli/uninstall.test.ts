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
import { assertRemovableHome, listHomeImages } from "../../src/cli/uninstall-plan.ts";
import type { Exec } from "../../src/container/exec.ts";
import { instanceId } from "../../src/container/lockdown.ts";
import { LABELS } from "../../src/container/paths.ts";
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

/** The lines install.sh writes (path_line in install.sh), for a home's bin directory. */
const pathLine = (bin: string) => `export PATH='${bin}':"$PATH" ${INSTALL_MARKER}\n`;
const fishLine = (bin: string) => `contains -- '${bin}' $PATH; or set -gx PATH '${bin}' $PATH ${INSTALL_MARKER}\n`;
/** Another home's line in the same files: it must survive this home's uninstall. */
const OTHER_BIN = "/opt/other-carapace-home/bin";

/**
 * Start-up files (relative to the user's home; `zdotdir/` stands for $ZDOTDIR) with the user's own
 * content around this home's marked line, as bytes before and after the uninstall.
 */
function rcFixtures(bin: string): Record<string, { before: Buffer; after: Buffer | null }> {
  const line = pathLine(bin);
  return {
    ".bashrc": {
      before: Buffer.from(`# my bashrc\nalias ll='ls -l'\n\n${line}${pathLine(OTHER_BIN)}export EDITOR=vim`),
      after: Buffer.from(`# my bashrc\nalias ll='ls -l'\n\n${pathLine(OTHER_BIN)}export EDITOR=vim`),
    },
    "zdotdir/.zshrc": {
      // CRLF endings and a Latin-1 byte that is not UTF-8 must survive untouched.
      before: Buffer.concat([
        Buffer.from(`setopt autocd\r\n${line.replace("\n", "\r\n")}# caf`),
        Buffer.from([0xe9]),
        Buffer.from("\r\n"),
      ]),
      after: Buffer.concat([Buffer.from("setopt autocd\r\n# caf"), Buffer.from([0xe9]), Buffer.from("\r\n")]),
    },
    ".bash_profile": {
      before: Buffer.from(`${line}# carapace is mentioned here but this line is mine\n`),
      after: Buffer.from("# carapace is mentioned here but this line is mine\n"),
    },
    ".profile": {
      before: Buffer.from(`# ${INSTALL_MARKER} without the bin directory stays\n${line}`),
      after: Buffer.from(`# ${INSTALL_MARKER} without the bin directory stays\n`),
    },
    ".config/fish/config.fish": {
      before: Buffer.from(`set -g fish_greeting\n${fishLine(bin)}`),
      after: Buffer.from("set -g fish_greeting\n"),
    },
    // install.sh creates this file for fish; with only this home's line in it, it goes.
    ".config/fish/conf.d/carapace.fish": { before: Buffer.from(`\n${fishLine(bin)}`), after: null },
  };
}

interface Installed {
  user: string;
  home: string;
  env: Record<string, string>;
  rc: ReturnType<typeof rcFixtures>;
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
    ZDOTDIR: join(user, "zdotdir"),
  };
  const set = await carapace(["config", "set", "hello.enabled", "true"], env);
  expect(set.code).toBe(0);
  mkdirSync(join(home, "bin"), { recursive: true });
  copyFileSync(ensureBinaries().ipc, join(home, "bin", "carapace"));
  chmodSync(join(home, "bin", "carapace"), 0o755);
  writeFileSync(join(home, "data", "memory", "default.db"), "x".repeat(5000));
  writeFileSync(join(home, "credentials", "anthropic_api_key"), "sk-test", { mode: 0o600 });
  const rc = rcFixtures(join(home, "bin"));
  for (const [name, { before }] of Object.entries(rc)) {
    mkdirSync(join(user, name, ".."), { recursive: true });
    writeFileSync(join(user, name), before, { mode: 0o640 });
  }
  return { user, home, env, rc };
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

function hasPodmanHere(): boolean {
  return (
    Bun.spawnSync(["sh", "-c", "command -v podman && podman image exists localhost/carapace-base:bookworm"])
      .exitCode === 0
  );
}

describe("carapace uninstall through the compiled binary", () => {
  test("--dry-run lists the home by entry with sizes, the executables and the marked lines, and changes nothing", async () => {
    const { user, home, env, rc } = await installed();
    const before = snapshot(user);
    const r = await carapace(["uninstall", "--dry-run"], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`$CARAPACE_HOME ${home}: the whole directory`);
    for (const entry of ["bin/", "config.toml", "credentials/", "data/", "version"])
      expect(r.stdout).toMatch(new RegExp(`  remove ${entry.replace(".", "\\.")}\\s+\\d`));
    expect(r.stdout).toMatch(/remove data\/\s+5\.0 KB/);
    const binSize = formatBytes(statSync(join(home, "bin", "carapace")).size);
    expect(r.stdout).toContain(`remove ${join(home, "bin", "carapace")} (${binSize})`);
    for (const [name, { after }] of Object.entries(rc))
      expect(r.stdout).toContain(
        after === null ? `remove ${join(user, name)} (install.sh created it` : `remove from ${join(user, name)}: `,
      );
    expect(r.stdout).not.toContain(OTHER_BIN);
    expect(r.stdout).toContain("Container runtime: no container runtime answers");
    expect(r.stdout).toContain("Dry run: nothing was changed.");
    expect(snapshot(user)).toEqual(before);
    for (const [name, { before: bytes }] of Object.entries(rc))
      expect(hex(join(user, name))).toBe(bytes.toString("hex"));
  });

  test("--yes removes the home and its executables; rc files keep every byte but Carapace's lines", async () => {
    const { user, home, env, rc } = await installed();
    const r = await carapace(["uninstall", "--yes"], env);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Carapace is uninstalled");
    expect(existsSync(home)).toBe(false);
    for (const [name, { after }] of Object.entries(rc)) {
      if (after === null) {
        expect(existsSync(join(user, name))).toBe(false);
        continue;
      }
      expect(hex(join(user, name))).toBe(after.toString("hex"));
      expect(statSync(join(user, name)).mode & 0o777).toBe(0o640);
    }
  });

  test("a symlinked rc file is edited at its target and stays a link", async () => {
    const { user, env, rc } = await installed();
    const target = join(user, "dotfiles-bashrc");
    copyFileSync(join(user, ".bashrc"), target);
    Bun.spawnSync(["rm", join(user, ".bashrc")]);
    symlinkSync(target, join(user, ".bashrc"));
    const r = await carapace(["uninstall", "--yes"], env);
    expect(r.code).toBe(0);
    expect(lstatSync(join(user, ".bashrc")).isSymbolicLink()).toBe(true);
    expect(hex(target)).toBe(rc[".bashrc"]?.after?.toString("hex") ?? "missing fixture");
  });

  test("links an agent planted in its workspace are counted and removed as links; what they name stays", async () => {
    const { user, home, env } = await installed();
    const outside = join(user, "precious");
    mkdirSync(outside);
    writeFileSync(join(outside, "big"), "y".repeat(2_000_000));
    const ws = join(home, "data", "workspaces", "g");
    mkdirSync(join(ws, "nested"), { recursive: true });
    symlinkSync(outside, join(ws, "to-outside"));
    symlinkSync(join(outside, "big"), join(ws, "nested", "to-big"));
    const dry = await carapace(["uninstall", "--dry-run"], env);
    expect(dry.stdout).toMatch(/remove data\/\s+5\.\d KB/);
    const r = await carapace(["uninstall", "--yes"], env);
    expect(r.code).toBe(0);
    expect(existsSync(home)).toBe(false);
    expect(readFileSync(join(outside, "big"), "utf8")).toHaveLength(2_000_000);
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
  }, 60_000);

  test("right after install.sh (bin/ and lib/ only, no version file) uninstall works", async () => {
    const user = tempHome();
    const home = join(user, ".carapace");
    mkdirSync(join(home, "bin"), { recursive: true });
    mkdirSync(join(home, "lib"));
    copyFileSync(ensureBinaries().ipc, join(home, "bin", "carapace"));
    writeFileSync(join(user, ".bashrc"), pathLine(join(home, "bin")));
    const env = { PATH: NO_RUNTIME_PATH, HOME: user, CARAPACE_HOME: home, TMPDIR: "/tmp" };
    const r = await carapace(["uninstall", "--yes"], env);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(existsSync(home)).toBe(false);
    expect(readFileSync(join(user, ".bashrc"), "utf8")).toBe("");
  });

  test("--json prints the list and the outcome as one document", async () => {
    const { home, env } = await installed();
    const dry = await carapace(["uninstall", "--dry-run", "--json"], env);
    expect(dry.code).toBe(0);
    const plan = JSON.parse(dry.stdout) as { removed: boolean; plan: { home: string; rc_lines: unknown[] } };
    expect(plan.removed).toBe(false);
    expect(plan.plan.home).toBe(home);
    expect(plan.plan.rc_lines.length).toBe(6);
    const refused = await carapace(["uninstall", "--json"], env);
    expect(refused.code).toBe(2);
    const done = await carapace(["uninstall", "--yes", "--json"], env);
    expect(done.code).toBe(0);
    expect((JSON.parse(done.stdout) as { removed: boolean }).removed).toBe(true);
    expect(existsSync(home)).toBe(false);
  });

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

  test.skipIf(!hasPodmanHere())(
    "with Podman a fresh home lists no images or containers: the machine's shared ones are not its own",
    async () => {
      const { env } = await installed({ withRuntime: true });
      const r = await carapace(["uninstall", "--dry-run"], env);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/Container runtime: podman \d/);
      expect(r.stdout).toContain("Images this home built:\n    (none)");
      expect(r.stdout).toContain("Containers this home's core started:\n    (none)");
    },
  );
});

describe.skipIf(!hasPodmanHere())("uninstall with Podman: this home's images and containers only", () => {
  /** A tiny image and a never-started container labelled with a home's instance id. */
  function labelled(home: string, suffix: string): { image: string; container: string } {
    const owner = instanceId(home);
    const image = `localhost/carapace-uninstall-test-${suffix}:${owner}`;
    const container = `carapace-uninstall-test-${suffix}-${owner}`;
    const build = Bun.spawnSync(
      ["podman", "build", "-q", "-t", image, "--label", `${LABELS.instance}=${owner}`, "-f", "-", "/tmp"],
      {
        stdin: new TextEncoder().encode("FROM localhost/carapace-base:bookworm\n"),
      },
    );
    if (build.exitCode !== 0) throw new Error(build.stderr.toString());
    const create = Bun.spawnSync([
      "podman",
      "create",
      "--name",
      container,
      "--label",
      `${LABELS.managed}=true`,
      "--label",
      `${LABELS.instance}=${owner}`,
      image,
      "true",
    ]);
    if (create.exitCode !== 0) throw new Error(create.stderr.toString());
    return { image, container };
  }
  const exists = (kind: "image" | "container", name: string) =>
    Bun.spawnSync(["podman", kind, "exists", name]).exitCode === 0;

  test("removes what carries this home's label and lists it first; another home's stay", async () => {
    const mine = await installed({ withRuntime: true });
    const other = await installed({ withRuntime: true });
    const a = labelled(mine.home, "mine");
    const b = labelled(other.home, "other");
    try {
      const dry = await carapace(["uninstall", "--dry-run"], mine.env);
      expect(dry.stdout).toContain(`remove ${a.image} (`);
      expect(dry.stdout).toContain(`remove ${a.container}`);
      expect(dry.stdout).not.toContain(b.image);
      expect(dry.stdout).not.toContain(b.container);
      const r = await carapace(["uninstall", "--yes"], mine.env);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(exists("container", a.container)).toBe(false);
      expect(exists("image", a.image)).toBe(false);
      expect(exists("container", b.container)).toBe(true);
      expect(exists("image", b.image)).toBe(true);
    } finally {
      for (const { image, container } of [a, b]) {
        Bun.spawnSync(["podman", "rm", "-f", container]);
        Bun.spawnSync(["podman", "rmi", "-f", image]);
      }
    }
  }, 120_000);
});

describe("uninstall pieces", () => {
  test("only this home's marked lines go; another home's and everything else stay byte for byte", () => {
    const bin = "/h/.carapace/bin";
    const text = `a\n${pathLine(bin)}b # added by carapace\n${pathLine(`${bin}2`)}\nlast '${bin}' ${INSTALL_MARKER}`;
    expect(withoutMarkedLines(text, bin)).toEqual({
      text: `a\nb # added by carapace\n${pathLine(`${bin}2`)}\n`,
      removed: [pathLine(bin).trimEnd(), `last '${bin}' ${INSTALL_MARKER}`],
    });
    expect(withoutMarkedLines("no marker\r\nhere", bin).text).toBe("no marker\r\nhere");
    expect(withoutMarkedLines("", bin)).toEqual({ text: "", removed: [] });
  });

  test("images are listed by this home's label; untagged ones by id", async () => {
    const calls: string[][] = [];
    const exec: Exec = {
      run: async (argv) => {
        calls.push([...argv]);
        return {
          code: 0,
          stdout:
            "abc123\tlocalhost/carapace-agent:0.1.0\t636 MB\ndef456\t<none>:<none>\t600 MB\nabc123\tlocalhost/mine:1\t636 MB\n",
          stderr: "",
        };
      },
      spawn: () => {
        throw new Error("not used");
      },
    };
    expect(await listHomeImages(exec, "podman", "0123456789abcdef")).toEqual([
      { ref: "localhost/carapace-agent:0.1.0", size: "636 MB" },
      { ref: "def456", size: "600 MB" },
      { ref: "localhost/mine:1", size: "636 MB" },
    ]);
    expect(calls[0]?.slice(0, 4)).toEqual([
      "podman",
      "images",
      "--filter",
      "label=io.carapace.instance=0123456789abcdef",
    ]);
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
