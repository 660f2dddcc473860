/**
 * What the agent image holds, listed from inside the real image with bash builtins: exactly bash, the
 * shared libraries bash, claude, ipc and libzmq load, Carapace's own files and two-line passwd/group.
 * No coreutils, no perl, no package manager, no network or privilege tool (docs/CONTAINER_IMAGE.md).
 */
import { describe, expect, test } from "bun:test";
import { testAgentImage } from "./agent-image.ts";
import { reportSkip } from "./podman-env.ts";

const image = await testAgentImage();
reportSkip("agent image contents", image.skipReason);

/** Every non-directory entry outside the kernel's and the runtime's own trees, with a link's target. */
const LIST = String.raw`
shopt -s nullglob dotglob
walk() {
  local e
  for e in "$1"/*; do
    if [ -L "$e" ]; then printf 'L %s\n' "$e"
    elif [ -d "$e" ]; then walk "$e"
    else printf 'F %s\n' "$e"; fi
  done
}
for top in /*; do case "$top" in /proc | /sys | /dev) ;; *) if [ -L "$top" ]; then printf 'L %s\n' "$top"; else walk "$top"; fi ;; esac; done
for t in "$@"; do if type -P "$t" >/dev/null; then printf 'TOOL %s\n' "$t"; fi; done
`;

/** Programs a compromised agent would reach for; none may be a file on PATH (bash builtins aside). */
const REMOVED_TOOLS = [
  ...["ls", "cat", "cp", "mv", "rm", "ln", "mkdir", "chmod", "chown", "touch", "dd", "head", "tail", "tee"],
  ...["id", "uname", "env", "printenv", "whoami", "hostname", "sleep", "timeout", "mktemp", "mkfifo", "nohup"],
  ...["find", "xargs", "grep", "sed", "awk", "sort", "base64", "od", "xxd", "tr", "wc", "cut", "stat"],
  ...["perl", "python3", "python", "node", "bun", "ruby", "dash", "zsh", "busybox"],
  ...["tar", "gzip", "zcat", "curl", "wget", "nc", "ssh", "scp", "openssl", "getent", "ip", "ping"],
  ...["apt", "apt-get", "dpkg", "debconf", "su", "sudo", "mount", "umount", "login", "passwd", "chroot", "setpriv"],
  ...["ps", "kill", "pkill", "strace", "gdb", "git", "rg"],
];

/** Files the image may hold (regexes over absolute paths); the runtime's own are listed last. */
const ALLOWED_FILES = [
  /^\/usr\/bin\/bash$/,
  /^\/usr\/lib(64)?\/([a-z0-9_]+-linux-gnu\/)?(libc\.so\.6|libm\.so\.6|libdl\.so\.2|libpthread\.so\.0|librt\.so\.1|libstdc\+\+\.so\.6|libgcc_s\.so\.1|libtinfo\.so\.6|ld-linux[a-z0-9_-]*\.so\.[0-9])$/,
  /^\/etc\/(passwd|group|ld\.so\.cache)$/,
  /^\/etc\/claude-code\/managed-settings\.json$/,
  /^\/usr\/local\/bin\/(claude|ipc|carapace-entrypoint)$/,
  /^\/usr\/local\/lib\/carapace\/(ipc|libzmq\.so|api-key-helper)$/,
  // Written by the runtime at start, not part of the image.
  /^\/etc\/(hostname|hosts|resolv\.conf)$/,
  /^\/run\/\.containerenv$/,
];
const ALLOWED_LINKS = [/^\/(bin|lib|lib64)$/, /^\/usr\/bin\/sh$/, /^\/etc\/mtab$/];

describe.skipIf(image.skipReason !== null)(
  "the agent image carries only what Claude Code, ipc and the entrypoint need",
  () => {
    const listing = Bun.spawnSync([
      "podman",
      "run",
      "--rm",
      "--network=none",
      "--read-only",
      "--user",
      "65534:65534",
      "--entrypoint",
      "/bin/bash",
      image.tag,
      "-c",
      LIST,
      "list",
      ...REMOVED_TOOLS,
    ]);
    const lines = listing.stdout.toString().split("\n");
    const entries = (kind: string) =>
      lines.filter((l) => l.startsWith(`${kind} `)).map((l) => l.slice(kind.length + 1));

    test("every file and link in the image is on the list of what is needed", () => {
      expect(listing.exitCode).toBe(0);
      const files = entries("F");
      expect(files).toContain("/usr/bin/bash");
      expect(files).toContain("/usr/local/bin/claude");
      expect(files.filter((f) => !ALLOWED_FILES.some((r) => r.test(f)))).toEqual([]);
      expect(entries("L").filter((l) => !ALLOWED_LINKS.some((r) => r.test(l)))).toEqual([]);
    });

    test("no coreutils, perl, package manager, network, process or privilege tool is on PATH", () => {
      expect(listing.exitCode).toBe(0);
      expect(entries("TOOL")).toEqual([]);
    });
  },
);
