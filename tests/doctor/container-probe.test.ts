/** How the host judges the container probe's output: every property it checks fails on a hostile report. */
import { expect, test } from "bun:test";
import { judgeProbe, type ProbeObservations } from "../../src/doctor/container-probe.ts";

const SESSION = { id: "a".repeat(32), group: "probe" };
const GOOD = [
  "IFACES lo",
  "TCP blocked",
  "READONLY /",
  "READONLY /tmp",
  "READONLY /var/tmp",
  "READONLY /usr/local/bin",
  "READONLY /etc",
  `IPC {"session_id":"${SESSION.id}","group":"probe","source":"cli","plugins":[]}`,
  "PROBE-DONE",
  "",
].join("\n");

const judge = (output: string, listenerHits = 0): Record<string, { level: string; detail: string }> =>
  Object.fromEntries(
    judgeProbe({ output, listenerHits, session: SESSION } satisfies ProbeObservations).map((c) => [c.id, c]),
  );

test("a locked-down container passes all three checks", () => {
  const checks = judge(GOOD);
  expect(Object.values(checks).map((c) => c.level)).toEqual(["pass", "pass", "pass"]);
});

test("network: another interface, an open connection, a reached listener or no listing each fail", () => {
  expect(judge(GOOD.replace("IFACES lo", "IFACES eth0 lo"))["probe.network"]?.detail).toContain("eth0");
  expect(judge(GOOD.replace("TCP blocked", "TCP open"))["probe.network"]?.detail).toContain("was opened");
  expect(judge(GOOD, 1)["probe.network"]?.detail).toContain("listener on this host was reached");
  expect(judge(GOOD.replace("IFACES lo\n", ""))["probe.network"]?.level).toBe("fail");
  expect(judge(GOOD.replace("TCP blocked\n", ""))["probe.network"]?.level).toBe("fail");
});

test("root filesystem: a writable directory or a missing result fails", () => {
  const writable = judge(GOOD.replace("READONLY /tmp", "WRITABLE /tmp"))["probe.root"];
  expect(writable?.level).toBe("fail");
  expect(writable?.detail).toContain("could write to /tmp");
  expect(judge(GOOD.replace("READONLY /\n", ""))["probe.root"]?.level).toBe("fail");
});

test("ipc: a failed call, another session's answer or garbage fails", () => {
  const failedCall = GOOD.replace(/^IPC .*$/m, "IPC-FAILED no reply from the core");
  expect(judge(failedCall)["probe.ipc"]?.detail).toContain("ipc failed: no reply from the core");
  expect(judge(GOOD.replace(SESSION.id, "b".repeat(32)))["probe.ipc"]?.level).toBe("fail");
  expect(judge(GOOD.replace('"group":"probe"', '"group":"other"'))["probe.ipc"]?.level).toBe("fail");
  expect(judge(GOOD.replace(/^IPC .*$/m, "IPC not json"))["probe.ipc"]?.level).toBe("fail");
});
