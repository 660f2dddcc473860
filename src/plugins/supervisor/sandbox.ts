/**
 * The OS sandbox a plugin process runs in (docs/THREAT_MODEL.md, "Plugins"). On Linux: bubblewrap with
 * its own mount, pid, ipc, uts and cgroup namespaces (and network namespace unless the manifest
 * declares network access), a read-only system, the runtime, the plugin's folder read-only, its data
 * folder, its socket folder, and nothing of $CARAPACE_HOME. A core running as root drops the plugin
 * to an unprivileged uid. macOS: sandbox-exec with a deny-default profile (not testable here).
 */
import { existsSync, lstatSync, readlinkSync, realpathSync } from "node:fs";
import { dirname, join } from "node:path";
import { seccompFilter } from "./seccomp.ts";

/** The unprivileged uid:gid a plugin runs as when the core runs as root (nobody:nogroup). */
export const PLUGIN_UID = 65534;
export const PLUGIN_GID = 65534;

/** Where things appear inside the sandbox. */
export const SANDBOX_PATHS = {
  plugin: "/plugin",
  dataRoot: "/data",
  socketDir: "/run/plugin",
  runtime: "/run/runtime",
} as const;

export interface SandboxSpec {
  plugin: string;
  /** The plugin's folder (null for a plugin embedded in the binary). */
  pluginDir: string | null;
  /** Host folders under $CARAPACE_HOME/data the plugin owns, by feature name. */
  dataDirs: Record<string, string>;
  socketDir: string;
  /** The runtime: the compiled binary, or bun plus the source tree when run from source. */
  runtime: { executable: string; sourceRoot: string | null };
  network: boolean;
  /** Host paths bound read-only at the same path (an MCP server's executable and folders). */
  readOnlyPaths?: readonly string[];
  memoryBytes: number;
  asRoot: boolean;
}

export interface SandboxedCommand {
  argv: string[];
  env: Record<string, string>;
  /** How the process names its socket and its data root. */
  socketDir: string;
  dataRoot: string;
  handlerPath: string | null;
  kind: "bwrap" | "sandbox-exec" | "none";
  /** The seccomp program bwrap reads from fd SECCOMP_FD, or null (no filter on this platform). */
  seccomp: Uint8Array | null;
}

/** The child's fd the seccomp program arrives on (the one after stdin, stdout and stderr). */
export const SECCOMP_FD = 3;

const JIT_RESERVE_BYTES = 4 * 1024 * 1024 * 1024;
const SYSTEM_DIRS = ["/usr", "/lib", "/lib64", "/bin", "/sbin"];
const NETWORK_FILES = ["/etc/resolv.conf", "/etc/hosts", "/etc/nsswitch.conf", "/etc/ssl", "/etc/ca-certificates"];

export function findBubblewrap(): string | null {
  for (const p of ["/usr/bin/bwrap", "/bin/bwrap", "/usr/local/bin/bwrap"]) if (existsSync(p)) return p;
  return null;
}

function systemBinds(): string[] {
  const out: string[] = [];
  for (const dir of SYSTEM_DIRS) {
    if (!existsSync(dir)) continue;
    const st = lstatSync(dir);
    if (st.isSymbolicLink()) out.push("--symlink", readlinkSync(dir), dir);
    else out.push("--ro-bind", dir, dir);
  }
  return out;
}

function runtimeArgv(spec: SandboxSpec, inside: boolean): { argv: string[]; binds: string[] } {
  const exe = realpathSync(spec.runtime.executable);
  if (!spec.runtime.sourceRoot) {
    const target = inside ? join(SANDBOX_PATHS.runtime, "carapace") : exe;
    return { argv: [target, "__plugin-runner"], binds: ["--ro-bind", exe, target] };
  }
  // From source (tests, development): bun and the source tree, at their own paths.
  const root = spec.runtime.sourceRoot;
  const target = inside ? join(SANDBOX_PATHS.runtime, "bun") : exe;
  return {
    argv: [target, join(root, "src/main.ts"), "__plugin-runner"],
    binds: ["--ro-bind", exe, target, "--ro-bind", root, root],
  };
}

/** Mount points' parent folders, created readable: bwrap would make them 0700 (no use to a dropped uid). */
function parentDirs(targets: string[]): string[] {
  const made = new Set<string>(["/"]);
  const out: string[] = [];
  for (const target of targets) {
    const parts = dirname(target).split("/").filter(Boolean);
    let path = "";
    for (const part of parts) {
      path += `/${part}`;
      if (made.has(path) || SYSTEM_DIRS.includes(path)) continue;
      made.add(path);
      out.push("--perms", "0755", "--dir", path);
    }
  }
  return out;
}

/** The command that starts one plugin process inside its sandbox. */
export function bubblewrapCommand(bwrap: string, spec: SandboxSpec): SandboxedCommand {
  const runtime = runtimeArgv(spec, true);
  const seccomp = seccompFilter();
  const args = [
    bwrap,
    "--die-with-parent",
    "--new-session",
    "--unshare-pid",
    "--unshare-ipc",
    "--unshare-uts",
    "--unshare-cgroup-try",
    ...(spec.network ? [] : ["--unshare-net"]),
    ...(spec.asRoot ? [] : ["--unshare-user", "--disable-userns"]),
    ...systemBinds(),
    "--proc",
    "/proc",
    "--dev",
    "/dev",
    // The runtime extracts its embedded libzmq here (nobody must be able to write it).
    "--perms",
    "1777",
    "--tmpfs",
    "/tmp",
    ...parentDirs([
      ...runtime.binds.filter((_, i) => i % 3 === 2),
      SANDBOX_PATHS.plugin,
      join(SANDBOX_PATHS.dataRoot, "x"),
      SANDBOX_PATHS.socketDir,
      ...(spec.readOnlyPaths ?? []),
    ]),
    ...runtime.binds,
    ...(spec.pluginDir ? ["--ro-bind", spec.pluginDir, SANDBOX_PATHS.plugin] : []),
    ...Object.entries(spec.dataDirs).flatMap(([feature, dir]) => [
      "--bind",
      dir,
      join(SANDBOX_PATHS.dataRoot, feature),
    ]),
    "--bind",
    spec.socketDir,
    SANDBOX_PATHS.socketDir,
    ...(spec.readOnlyPaths ?? []).flatMap((p) => ["--ro-bind", p, p]),
    ...(spec.network ? NETWORK_FILES.filter((f) => existsSync(f)).flatMap((f) => ["--ro-bind", f, f]) : []),
    "--chdir",
    spec.pluginDir ? SANDBOX_PATHS.plugin : "/tmp",
    "--hostname",
    "plugin",
    ...(seccomp ? ["--seccomp", String(SECCOMP_FD)] : []),
  ];
  // A backstop only: the JIT reserves about 4 GiB of address space that RLIMIT_DATA counts, so the
  // per-plugin limit itself is the supervisor's resident-memory watchdog (plugin-process.ts).
  const limit = ["/usr/bin/prlimit", `--data=${spec.memoryBytes + JIT_RESERVE_BYTES}`, "--core=0", "--"];
  if (spec.asRoot) {
    // bwrap as root keeps the host uid; setpriv gives the plugin nobody's uid and no capabilities.
    args.push(
      "--cap-add",
      "CAP_SETUID",
      "--cap-add",
      "CAP_SETGID",
      "--cap-add",
      "CAP_SETPCAP",
      "/usr/bin/setpriv",
      `--reuid=${PLUGIN_UID}`,
      `--regid=${PLUGIN_GID}`,
      "--clear-groups",
      "--inh-caps=-all",
      "--bounding-set=-all",
      "--",
    );
  } else {
    args.push("--cap-drop", "ALL");
  }
  args.push(...limit, ...runtime.argv);
  return {
    argv: args,
    env: { PATH: "/usr/bin:/bin", HOME: "/tmp", TMPDIR: "/tmp", LANG: "C.UTF-8" },
    socketDir: SANDBOX_PATHS.socketDir,
    dataRoot: SANDBOX_PATHS.dataRoot,
    handlerPath: spec.pluginDir ? join(SANDBOX_PATHS.plugin, "handler.ts") : null,
    kind: "bwrap",
    seccomp,
  };
}

/** macOS: a deny-default sandbox-exec profile; untested here (no macOS machine), see docs/THREAT_MODEL.md. */
export function sandboxExecProfile(spec: SandboxSpec): string {
  const q = (p: string) => JSON.stringify(p);
  const readable = [spec.runtime.executable, spec.pluginDir, spec.runtime.sourceRoot, "/usr/lib", "/System"]
    .filter((p): p is string => p !== null)
    .map((p) => `(subpath ${q(p)})`)
    .join(" ");
  const writable = [...Object.values(spec.dataDirs), spec.socketDir].map((p) => `(subpath ${q(p)})`).join(" ");
  return [
    "(version 1)",
    "(deny default)",
    "(allow process-exec process-fork signal (target self))",
    "(allow sysctl-read mach-lookup)",
    `(allow file-read* ${readable})`,
    `(allow file-read* file-write* ${writable} (subpath "/private/var/folders"))`,
    spec.network ? "(allow network*)" : `(allow network* (local unix-socket (subpath ${q(spec.socketDir)})))`,
  ].join("\n");
}

/** How to start a plugin process on this platform; `null` sandbox means none is available. */
export function sandboxedCommand(spec: SandboxSpec): SandboxedCommand | { unavailable: string } {
  if (process.platform === "linux") {
    const bwrap = findBubblewrap();
    if (!bwrap) return { unavailable: "bubblewrap (bwrap) is not installed" };
    return bubblewrapCommand(bwrap, spec);
  }
  if (process.platform === "darwin" && existsSync("/usr/bin/sandbox-exec")) {
    const runtime = runtimeArgv(spec, false);
    return {
      argv: ["/usr/bin/sandbox-exec", "-p", sandboxExecProfile(spec), ...runtime.argv],
      env: { PATH: "/usr/bin:/bin", HOME: dirname(spec.socketDir) },
      socketDir: spec.socketDir,
      dataRoot: dirname(Object.values(spec.dataDirs)[0] ?? spec.socketDir),
      handlerPath: spec.pluginDir ? join(spec.pluginDir, "handler.ts") : null,
      kind: "sandbox-exec",
      seccomp: null,
    };
  }
  return { unavailable: `no plugin sandbox is known for ${process.platform}` };
}
