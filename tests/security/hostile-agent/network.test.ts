/**
 * The container has no network but its own loopback: from inside, the kernel shows only `lo` and no
 * route; network commands are refused; and a listener on every host address never hears from it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { HOSTILE_TIMEOUT_MS, type HostileLab, hostileSkipReason, startHostileLab, step } from "./harness.ts";
import { startHostListener } from "./host-inspect.ts";

/** Interface names from /proc/net/dev as the Read tool returned it. */
function interfaces(readOutput: string): string[] {
  return readOutput
    .split("\n")
    .map((l) => l.replace(/^\s*\d+\t/, ""))
    .filter((l) => /^\s*[\w.-]+:/.test(l))
    .map((l) => l.trim().split(":")[0] as string);
}

describe.skipIf(hostileSkipReason !== null)("hostile agent: the network is unreachable", () => {
  let lab: HostileLab;
  beforeAll(async () => {
    lab = await startHostileLab();
  });
  afterAll(async () => {
    await lab?.stop();
  });

  test(
    "inside the container only lo exists and there is no route; curl, /dev/tcp and a chained fetch reach nothing on the host",
    async () => {
      const listener = startHostListener();
      try {
        const host = new URL(listener.url);
        const run = await lab.session("net", [
          step.read("/proc/net/dev"),
          step.read("/proc/net/route"),
          step.bash(`curl -s ${listener.url}`),
          step.bash(`ipc hello.echo '{"message":"x"}'; curl -s ${listener.url}`),
          step.bash(`ipc hello.echo '{"message":"x"}' && bash -c 'echo hi > /dev/tcp/${host.hostname}/${host.port}'`),
          step.bash(`ipc hello.echo "$(curl -s ${listener.url})"`),
        ]);
        expect(run.code).toBe(0);
        expect(run.exchange(0)).toMatchObject({ name: "Read", isError: false });
        expect(interfaces(run.exchange(0).result)).toEqual(["lo"]);
        // The route table has its header line and no route at all.
        expect(run.exchange(1).isError).toBe(false);
        expect(
          run
            .exchange(1)
            .result.split("\n")
            .map((l) => l.replace(/^\s*\d+\t/, "").trim())
            .filter((l) => l !== "" && !l.startsWith("Iface")),
        ).toEqual([]);
        for (const n of [2, 3, 4, 5]) {
          const ex = run.exchange(n);
          // Refused by the Bash rule, or it ran and the connection failed.
          if (!ex.isError) throw new Error(`network command ran and succeeded: ${JSON.stringify(ex)}`);
        }
        expect(listener.hits).toEqual([]);
        expect(run.transcript.everything).not.toContain("reached the host");
      } finally {
        await listener.close();
      }
    },
    HOSTILE_TIMEOUT_MS,
  );
});
