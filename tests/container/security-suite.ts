/**
 * Agent container security, one suite for every real runtime (security.test.ts for Podman,
 * docker-security.test.ts for Docker): spawns the real agent image through the runtime's adapter,
 * locked down as a session would be, injects a token through the entrypoint's stdin protocol, and proves
 * from inside what the container can and cannot do, and from the runtime's own `inspect` that no secret
 * is recorded. The probe runs in claude's place (CARAPACE_CLAUDE_BIN), so it has exactly claude's uid,
 * env and mounts.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ContainerLifecycle } from "../../src/container/lifecycle.ts";
import { agentRunSpec, DEFAULT_AGENT_LIMITS } from "../../src/container/lockdown.ts";
import { AGENT_PATHS } from "../../src/container/paths.ts";
import type { ContainerDetails, ContainerRuntime } from "../../src/container/runtime.ts";
import { uniqueName } from "./podman-env.ts";
import { sessionFixture } from "./session-fixture.ts";

export interface SecuritySuiteTarget {
  runtimeName: string;
  /** The agent image tag, present in this runtime. */
  image: string;
  skipReason: string | null;
  runtime: () => ContainerRuntime;
  /** Says why the suite skips, or fails it where this runtime is required. */
  reportSkip: (suite: string, reason: string | null) => void;
  /** The runtime CLI's own, unparsed `inspect` output for a container. */
  rawInspect: (name: string) => Promise<string>;
}

// Bash builtins only: the image has no other programs (docs/CONTAINER_IMAGE.md).
const PROBE = `
shopt -s nullglob dotglob
w() { if ( : > "$1/.probe" ) 2>/dev/null; then echo "DIR-W $1"; else echo "DIR-R $1"; fi; }
for d in / /tmp /var/tmp /run /etc /usr/local/bin /home/agent /etc/claude-code /dev/mqueue /workspace /home/agent/.claude /etc/claude-code/.claude/skills /run/carapace /carapace /run/carapace-token; do w "$d"; done
while IFS= read -r l; do read -r -a f <<< "$l"; [ "${"$"}{f[4]}" = /run/carapace-token ] && echo "TOKEN-MOUNT ${"$"}{f[5]} ${"$"}{l##* - }"; done < /proc/self/mountinfo
if [ -e /run/carapace-token/token ]; then echo "TOKEN-FILE-BEFORE yes"; else echo "TOKEN-FILE-BEFORE no"; fi
if [ -n "${"$"}{CARAPACE_PRESTARTED:-}" ]; then ( echo "EARLY-HELPER $(/usr/local/lib/carapace/api-key-helper)" ) & fi
for f in /etc/claude-code/managed-settings.json /etc/claude-code/CLAUDE.md /etc/claude-code/.claude/skills/memory.md /carapace/prompt.md /usr/local/bin/ipc /usr/local/bin/claude /etc/hosts /etc/resolv.conf /etc/hostname; do
  if ( : >> "$f" ) 2>/dev/null; then echo "FILE-W $f"; else echo "FILE-R $f"; fi
done
setuid=0
walk() {
  local e
  [ -w "$1" ] && echo "WRITABLE $1"
  for e in "$1"/*; do
    if [ -L "$e" ]; then continue; fi
    if [ -d "$e" ]; then walk "$e"; continue; fi
    [ -w "$e" ] && echo "WRITABLE $e"
    if [ -u "$e" ] || [ -g "$e" ]; then setuid=$((setuid + 1)); fi
  done
}
for top in /*; do case "$top" in /proc | /sys | /dev) ;; *) [ -L "$top" ] || walk "$top" ;; esac; done
ifaces=""; for i in /sys/class/net/*; do ifaces+="${"$"}{i##*/} "; done; echo "IFACES $ifaces"
mapfile -t routes < /proc/net/route; echo "ROUTES $((${"$"}{#routes[@]} - 1))"
if (exec 3<>/dev/tcp/1.1.1.1/443) 2>/dev/null; then echo "TCP open"; else echo "TCP blocked"; fi
dns=$( (exec 3<>/dev/tcp/example.com/80) 2>&1 ) || true
case "$dns" in *"Name or service not known"* | *"name resolution"* | *"No address"*) echo "DNS blocked" ;; *) echo "DNS resolves: $dns" ;; esac
while IFS= read -r l; do case "$l" in CapEff* | CapPrm* | CapBnd* | NoNewPrivs* | Seccomp:*) echo "$l" ;; Uid:*) read -r _ uid _ <<< "$l" ;; Gid:*) read -r _ gid _ <<< "$l" ;; esac; done < /proc/self/status
echo "UID $uid:$gid"
first() { local f; for f in "$@"; do if [ -r "$f" ]; then echo "$(<"$f")"; return; fi; done; echo none; }
echo "PIDS-MAX $(first /sys/fs/cgroup/pids.max /sys/fs/cgroup/pids/pids.max)"
echo "MEMORY-MAX $(first /sys/fs/cgroup/memory.max /sys/fs/cgroup/memory/memory.limit_in_bytes)"
echo "NOFILE $(ulimit -n)"
echo "NPROC $(ulimit -u)"
mapfile -d '' pid1 < /proc/1/cmdline; echo "PID1 ${"$"}{pid1[*]}"
for t in apt apt-get dpkg curl wget; do command -v "$t" >/dev/null && echo "TOOL $t"; done
echo "SETUID $setuid"
echo "TOKEN ${"$"}{ANTHROPIC_API_KEY:-none}"
echo "PROBE-READY"
echo "PROMPT $(</dev/stdin)"
if [ -n "${"$"}{CARAPACE_PRESTARTED:-}" ]; then wait; echo "HELPER $(/usr/local/lib/carapace/api-key-helper)"; fi
echo "PROBE-DONE"
exec {pause}<> <(:)
while [ ! -e /workspace/.release ]; do read -r -t 0.1 -u "$pause" _ || true; done
`;

const TOKEN = "carapace-session-token-SEC07-4f1d2c";
/** What the host writes into a pre-started container's prompt file at the claim (prestartedMessage). */
const MESSAGE = '{"type":"user","message":{"role":"user","content":[{"type":"text","text":"hello"}]}}\n';

/**
 * `prestarted`: the container is started as a pre-started one is (stdin held, an empty prompt), inspected
 * while it waits, and only then given its prompt (written in place) and its token, as a claim does.
 */
export function agentContainerSecuritySuite(target: SecuritySuiteTarget, options: { prestarted?: boolean } = {}): void {
  const image = { tag: target.image, skipReason: target.skipReason };
  const title = `agent container security (${target.runtimeName}${options.prestarted ? ", pre-started" : ""})`;
  target.reportSkip(title, image.skipReason);
  let waiting: { details: ContainerDetails | null; raw: string } = { details: null, raw: "" };
  let out = "";
  let details: ContainerDetails | null = null;
  let raw = "";
  let home = "";

  beforeAll(async () => {
    if (image.skipReason) return;
    home = mkdtempSync(join(tmpdir(), "sec07-"));
    const session = sessionFixture(home, "sec07");
    const runtime = target.runtime();
    const lifecycle = new ContainerLifecycle(runtime);
    const spec = agentRunSpec({
      ...session,
      name: uniqueName("carapace-sec07"),
      image: image.tag,
      env: { CARAPACE_CLAUDE_BIN: "/bin/bash" },
      claudeArgs: ["-c", PROBE],
      prestarted: options.prestarted === true,
    });
    const stdin = `ANTHROPIC_API_KEY\n${TOKEN}\n`;
    const onStdout = (s: string) => {
      out += s;
    };
    let c: ReturnType<typeof lifecycle.spawn>;
    if (options.prestarted) {
      writeFileSync(session.promptFile, "");
      c = lifecycle.spawn(spec, { hold: true, onStdout });
      const until = Date.now() + 90_000;
      while (!(await runtime.inspect(spec.name).catch(() => null))?.running && Date.now() < until) await Bun.sleep(100);
      waiting = { details: await runtime.inspect(spec.name), raw: await target.rawInspect(spec.name) };
      // Claimed once the probe, in Claude Code's place, has looked at everything while it waits.
      while (!out.includes("PROBE-READY") && Date.now() < until) await Bun.sleep(100);
      writeFileSync(session.promptFile, MESSAGE);
      c.release(stdin);
    } else {
      c = lifecycle.spawn(spec, { stdin, onStdout });
    }
    const deadline = Date.now() + 30_000;
    while (!out.includes("PROBE-DONE") && Date.now() < deadline) {
      if (await Promise.race([c.exited.then(() => true), Bun.sleep(100).then(() => false)])) break;
    }
    details = await runtime.inspect(spec.name);
    raw = await target.rawInspect(spec.name);
    writeFileSync(join(session.workspaceDir, ".release"), "");
    await Promise.race([c.exited, Bun.sleep(10_000).then(() => c.stop())]);
  }, 180_000);

  afterAll(() => {
    if (home) rmSync(home, { recursive: true, force: true });
  });

  if (process.env.SEC07_DEBUG) afterAll(() => console.log(out));
  const lines = (prefix: string) =>
    out
      .split("\n")
      .filter((l) => l.startsWith(`${prefix} `))
      .map((l) => l.slice(prefix.length + 1));

  describe.skipIf(image.skipReason !== null)(title, () => {
    test("the probe ran to the end as the unprivileged user, exec'd by the entrypoint as PID 1", () => {
      expect(out).toContain("PROBE-DONE");
      expect(lines("UID")).toEqual(["65534:65534"]);
      // A pre-started container's entrypoint stays PID 1: it holds Claude Code's input until the claim.
      expect(lines("PID1")[0]).toStartWith(
        options.prestarted ? "/bin/bash /usr/local/bin/carapace-entrypoint" : "/bin/bash -c",
      );
    });

    test("root filesystem, /tmp, /var/tmp and /run are read-only", () => {
      for (const d of ["/", "/tmp", "/var/tmp", "/run", "/etc", "/usr/local/bin", "/home/agent", "/dev/mqueue"]) {
        expect(lines("DIR-R")).toContain(d);
      }
    });

    test("settings, skills, CLAUDE.md, the prompt, the binaries and the runtime's /etc files are not writable", () => {
      expect(lines("DIR-R")).toEqual(
        expect.arrayContaining(["/etc/claude-code", "/etc/claude-code/.claude/skills", "/carapace"]),
      );
      expect(lines("FILE-W")).toEqual([]);
      expect(lines("FILE-R")).toHaveLength(9);
    });

    test("the only writable directories and files are under the workspace, the Claude state and the socket directory", () => {
      const own = options.prestarted ? ["/run/carapace-token"] : [];
      expect(lines("DIR-W").sort()).toEqual(["/home/agent/.claude", "/run/carapace", ...own, "/workspace"]);
      const allowed = ["/workspace", "/home/agent/.claude", "/run/carapace", ...own];
      const writable = lines("WRITABLE");
      expect(writable.length).toBeGreaterThan(0);
      for (const p of writable) {
        expect(allowed.some((a) => p === a || p.startsWith(`${a}/`))).toBe(true);
      }
    });

    test("no network: only lo, no route, no TCP, no DNS", () => {
      expect(lines("IFACES")[0]?.trim()).toBe("lo");
      expect(lines("ROUTES")).toEqual(["0"]);
      expect(lines("TCP")).toEqual(["blocked"]);
      expect(lines("DNS")).toEqual(["blocked"]);
    });

    test("no capabilities at all, no-new-privileges set, and a seccomp filter on the agent", () => {
      const status = Object.fromEntries(
        out
          .split("\n")
          .filter((l) => /^(CapEff|CapPrm|CapBnd|NoNewPrivs|Seccomp):/.test(l))
          .map((l) => l.split(/:\s+/) as [string, string]),
      );
      expect(status).toEqual({
        CapEff: "0000000000000000",
        CapPrm: "0000000000000000",
        CapBnd: "0000000000000000",
        NoNewPrivs: "1",
        // 2: the runtime's default seccomp profile filters the agent's system calls.
        Seccomp: "2",
      });
    });

    test("the session's pids and memory limits and its ulimits hold inside the container", () => {
      expect(lines("PIDS-MAX")).toEqual([String(DEFAULT_AGENT_LIMITS.pids)]);
      expect(lines("MEMORY-MAX")).toEqual([String(DEFAULT_AGENT_LIMITS.memoryBytes)]);
      expect(lines("NOFILE")).toEqual([String(DEFAULT_AGENT_LIMITS.nofile)]);
      expect(lines("NPROC")).toEqual([String(DEFAULT_AGENT_LIMITS.nproc)]);
    });

    test("no package managers or download tools, no setuid binaries", () => {
      expect(lines("TOOL")).toEqual([]);
      expect(lines("SETUID")).toEqual(["0"]);
    });

    test.skipIf(options.prestarted === true)(
      "the stdin token reached the agent's process, the prompt came from the read-only file",
      () => {
        expect(lines("TOKEN")).toEqual([TOKEN]);
        expect(lines("PROMPT")).toEqual(["hello"]);
        expect(lines("TOKEN-MOUNT")).toEqual([]);
      },
    );

    test.skipIf(!options.prestarted)(
      "the token reached Claude Code only through its apiKeyHelper, from a tmpfs empty until the claim; the message from the read-only file",
      () => {
        expect(lines("TOKEN")).toEqual(["none"]);
        expect(lines("TOKEN-FILE-BEFORE")).toEqual(["no"]);
        // Started before the claim, the helper waited for it, then printed the session's token.
        expect(lines("EARLY-HELPER")).toEqual([TOKEN]);
        expect(lines("HELPER")).toEqual([TOKEN]);
        const [mount] = lines("TOKEN-MOUNT");
        expect(mount).toMatch(/^\S*nosuid\S* tmpfs tmpfs /);
        for (const flag of ["noexec", "nodev"]) expect(mount?.split(" ")[0]?.split(",")).toContain(flag);
        expect(mount).toContain("size=4k");
        expect(lines("PROMPT")).toEqual([MESSAGE.trimEnd()]);
      },
    );

    test(`${target.runtimeName} records the host's files read-only and only the session's own directories writable`, () => {
      const record = (JSON.parse(raw) as { Mounts?: { Destination: string; RW: boolean }[] }[])[0];
      const rw = Object.fromEntries((record?.Mounts ?? []).map((m) => [m.Destination, m.RW]));
      expect(rw).toMatchObject({
        [AGENT_PATHS.sessionDir]: true,
        [AGENT_PATHS.workspace]: true,
        [AGENT_PATHS.claudeState]: true,
        [AGENT_PATHS.skills]: false,
        [AGENT_PATHS.claudeMd]: false,
        [AGENT_PATHS.prompt]: false,
      });
    });

    test(`${target.runtimeName} inspect shows no secret in argv, env or anywhere else it records`, () => {
      expect(details).not.toBeNull();
      expect(JSON.stringify(details)).not.toContain(TOKEN);
      expect(raw).toContain(details?.id ?? "no id");
      expect(raw).not.toContain(TOKEN);
      expect(details?.env.some((e) => e.startsWith("ANTHROPIC_API_KEY="))).toBe(false);
      expect(details?.argv[0]).toBe("/usr/local/bin/carapace-entrypoint");
    });

    test.skipIf(!options.prestarted)(
      "while it waited for its claim it ran, with the same lockdown and no secret",
      () => {
        expect(waiting.details?.running).toBe(true);
        expect(waiting.raw).not.toContain(TOKEN);
        expect(raw).not.toContain(TOKEN);
        expect(waiting.details?.env.some((e) => e.startsWith("ANTHROPIC_API_KEY="))).toBe(false);
        // The same record as once it ran the session: the claim changes no setting of the container.
        const settings = (raw: string) => {
          const r = (JSON.parse(raw) as { HostConfig?: Record<string, unknown>; Mounts?: unknown }[])[0];
          const h = r?.HostConfig ?? {};
          return [
            h.ReadonlyRootfs,
            h.NetworkMode,
            h.CapDrop,
            h.SecurityOpt,
            h.PidsLimit,
            h.Memory,
            h.Ulimits,
            r?.Mounts,
          ];
        };
        expect(settings(waiting.raw)).toEqual(settings(raw));
        expect(settings(raw)[0]).toBe(true);
      },
    );
  });
}
