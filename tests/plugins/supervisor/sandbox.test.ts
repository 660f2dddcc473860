import { describe, expect, test } from "bun:test";
import {
  bubblewrapCommand,
  PLUGIN_UID,
  SANDBOX_PATHS,
  type SandboxSpec,
  sandboxExecProfile,
} from "../../../src/plugins/supervisor/sandbox.ts";

const spec = (over: Partial<SandboxSpec> = {}): SandboxSpec => ({
  plugin: "probe",
  pluginDir: "/tmp",
  dataDirs: { probe: "/var/tmp" },
  socketDir: "/tmp",
  runtime: { executable: process.execPath, sourceRoot: null },
  network: false,
  memoryBytes: 256 * 1024 * 1024,
  asRoot: true,
  ...over,
});

function pairs(argv: string[], flag: string): string[][] {
  const out: string[][] = [];
  argv.forEach((a, i) => {
    if (a === flag) out.push(argv.slice(i + 1, i + 3));
  });
  return out;
}

describe("the bubblewrap command", () => {
  test("namespaces, no network by default, nobody's uid as root, nothing secret in argv or env", () => {
    const cmd = bubblewrapCommand("/usr/bin/bwrap", spec());
    for (const flag of ["--die-with-parent", "--new-session", "--unshare-pid", "--unshare-ipc", "--unshare-net"])
      expect(cmd.argv).toContain(flag);
    expect(cmd.argv).toContain(`--reuid=${PLUGIN_UID}`);
    expect(cmd.argv).toContain("--bounding-set=-all");
    expect(pairs(cmd.argv, "--ro-bind")).toContainEqual(["/tmp", SANDBOX_PATHS.plugin]);
    expect(pairs(cmd.argv, "--bind")).toContainEqual(["/var/tmp", `${SANDBOX_PATHS.dataRoot}/probe`]);
    expect(Object.keys(cmd.env).sort()).toEqual(["HOME", "LANG", "PATH", "TMPDIR"]);
    expect(cmd.argv.at(-1)).toBe("__plugin-runner");
  });

  test("network when declared; a user namespace and no capabilities when not root", () => {
    const cmd = bubblewrapCommand("/usr/bin/bwrap", spec({ network: true, asRoot: false }));
    expect(cmd.argv).not.toContain("--unshare-net");
    expect(cmd.argv).toContain("--unshare-user");
    expect(cmd.argv).toContain("--cap-drop");
    expect(cmd.argv.some((a) => a.startsWith("--reuid="))).toBe(false);
  });

  test("from source: bun and the source tree, at their own paths", () => {
    const cmd = bubblewrapCommand(
      "/usr/bin/bwrap",
      spec({ runtime: { executable: process.execPath, sourceRoot: "/usr" } }),
    );
    expect(cmd.argv.slice(-2)).toEqual(["/usr/src/main.ts", "__plugin-runner"]);
  });
});

describe("the macOS profile (not run here: no Mac)", () => {
  test("deny by default; network only when declared", () => {
    const closed = sandboxExecProfile(spec());
    expect(closed).toContain("(deny default)");
    expect(closed).toContain('(subpath "/var/tmp")');
    expect(closed).not.toContain("(allow network*)");
    expect(sandboxExecProfile(spec({ network: true }))).toContain("(allow network*)");
  });
});
