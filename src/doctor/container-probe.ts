/**
 * The install-time container probe: a short script run in Claude Code's place in a locked-down agent
 * container (the session's run spec, image and mounts), and how the host judges what it printed. It
 * passes only when the container has no network (loopback alone, a listener on the host unreached),
 * its root filesystem is read-only, and `ipc` reaches the core through the session socket.
 */
import type { CheckResult } from "./check.ts";

/**
 * Bash builtins only: the image has no other programs (docs/CONTAINER_IMAGE.md). $1 and $2 are the host
 * listener's address and port; one line per observation, then PROBE-DONE.
 */
export const PROBE_SCRIPT = `
ifaces=""; for i in /sys/class/net/*; do ifaces+="\${i##*/} "; done; echo "IFACES \${ifaces% }"
if (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; then echo "TCP open"; else echo "TCP blocked"; fi
for d in / /tmp /var/tmp /usr/local/bin /etc; do
  if ( : > "$d/.carapace-probe" ) 2>/dev/null; then echo "WRITABLE $d"; else echo "READONLY $d"; fi
done
out=$(ipc get_session_info '{}' 2>&1) && echo "IPC \${out//$'\\n'/ }" || echo "IPC-FAILED \${out//$'\\n'/ }"
echo "PROBE-DONE"
`;

/**
 * The directories the probe tries to write. /tmp and /var/tmp are world-writable in the image, so only a
 * read-only root stops the agent's user there; the others are root's.
 */
export const PROBED_DIRS = ["/", "/tmp", "/var/tmp", "/usr/local/bin", "/etc"] as const;

export interface ProbeObservations {
  /** The probe's stdout. */
  output: string;
  /** Requests the host listener received while the probe ran. */
  listenerHits: number;
  /** The session the probe's `ipc` call must be answered for. */
  session: { id: string; group: string };
}

const line = (output: string, key: string): string | undefined =>
  output
    .split("\n")
    .find((l) => l === key || l.startsWith(`${key} `))
    ?.slice(key.length + 1);

function networkCheck(o: ProbeObservations): CheckResult {
  const title = "container probe: network";
  const ifaces = line(o.output, "IFACES")?.split(" ").filter(Boolean) ?? [];
  const tcp = line(o.output, "TCP");
  const others = ifaces.filter((i) => i !== "lo");
  const problems = [
    ...(ifaces.length === 0 ? ["the interfaces could not be listed"] : []),
    ...(others.length > 0 ? [`the container has network interfaces ${others.join(", ")}`] : []),
    ...(tcp !== "blocked" ? [`a TCP connection to the host was ${tcp === "open" ? "opened" : "not tried"}`] : []),
    ...(o.listenerHits > 0 ? ["a listener on this host was reached from the container"] : []),
  ];
  if (problems.length > 0)
    return {
      id: "probe.network",
      title,
      level: "fail",
      detail: problems.join("; "),
      fix: "agent containers must run with no network: check the runtime adapter and `carapace doctor`; run no sessions until this passes",
    };
  return {
    id: "probe.network",
    title,
    level: "pass",
    detail: "none (only the loopback interface; a listener on this host got no connection)",
  };
}

function rootCheck(o: ProbeObservations): CheckResult {
  const title = "container probe: root filesystem";
  const lines = o.output.split("\n");
  const writable = PROBED_DIRS.filter((d) => lines.includes(`WRITABLE ${d}`));
  const readonly = PROBED_DIRS.filter((d) => lines.includes(`READONLY ${d}`));
  if (writable.length > 0 || readonly.length !== PROBED_DIRS.length)
    return {
      id: "probe.root",
      title,
      level: "fail",
      detail:
        writable.length > 0 ? `the container could write to ${writable.join(", ")}` : "the write test did not run",
      fix: "agent containers must run with a read-only root filesystem: check the runtime adapter; run no sessions until this passes",
    };
  return { id: "probe.root", title, level: "pass", detail: `read-only (${PROBED_DIRS.join(", ")} not writable)` };
}

function ipcCheck(o: ProbeObservations): CheckResult {
  const title = "container probe: ipc to the core";
  const reply = line(o.output, "IPC");
  let info: { session_id?: unknown; group?: unknown } | null;
  try {
    info = reply === undefined ? null : (JSON.parse(reply) as { session_id?: unknown; group?: unknown } | null);
  } catch {
    info = null;
  }
  if (info?.session_id === o.session.id && info.group === o.session.group)
    return {
      id: "probe.ipc",
      title,
      level: "pass",
      detail: `answered through the session socket (group ${o.session.group}), the only way out`,
    };
  const failed = line(o.output, "IPC-FAILED");
  return {
    id: "probe.ipc",
    title,
    level: "fail",
    detail:
      failed !== undefined
        ? `ipc failed: ${failed.slice(0, 200)}`
        : `unexpected reply: ${(reply ?? "none").slice(0, 200)}`,
    fix: "check the ipc binary in the image (`carapace image build`) and `carapace doctor --live`",
  };
}

/** One check per property; a probe that did not finish fails all three with what it printed. */
export function judgeProbe(o: ProbeObservations): CheckResult[] {
  return [networkCheck(o), rootCheck(o), ipcCheck(o)];
}
