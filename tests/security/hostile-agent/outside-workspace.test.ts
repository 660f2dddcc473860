/**
 * Writing outside the workspace: the image, the managed settings, the ipc binary and the session's
 * read-only inputs cannot be changed by any tool call, so the next session runs the same image and
 * settings, and the host's own files (config, plugins, credentials) are unchanged.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { AGENT_PATHS } from "../../../src/container/paths.ts";
import { HOSTILE_TIMEOUT_MS, type HostileLab, hostileSkipReason, startHostileLab, step } from "./harness.ts";
import { canary, diffTrees, hostEntry, snapshotTree } from "./host-inspect.ts";

const PLANTED = canary("outside-workspace");

const TARGETS = [
  AGENT_PATHS.managedSettings,
  AGENT_PATHS.ipc,
  AGENT_PATHS.prompt,
  AGENT_PATHS.claudeMd,
  `${AGENT_PATHS.skills}/planted/SKILL.md`,
  "/etc/profile.d/planted.sh",
];

describe.skipIf(hostileSkipReason !== null)("hostile agent: nothing outside the workspace is writable", () => {
  let lab: HostileLab;
  beforeAll(async () => {
    lab = await startHostileLab();
  });
  afterAll(async () => {
    await lab?.stop();
  });

  test(
    "Write, redirection and tee at the image, the settings and the session inputs change nothing the next session or the host sees",
    async () => {
      // The first session creates the group's trees; the rest of the home is what the host owns.
      const first = await lab.session("outside", [step.read("/etc/claude-code/managed-settings.json")]);
      const settingsBefore = first.exchange(0).result;
      expect(settingsBefore).toContain('"defaultMode": "dontAsk"');
      const hostOwned = ["config.toml", "credentials", "plugins"].map((p) => join(lab.home, p));
      const before = hostOwned.map((p) => snapshotTree(p));
      const steps = TARGETS.flatMap((t) => [
        step.write(t, PLANTED),
        step.bash(`ipc hello.echo '{"message":"${PLANTED}"}' > ${t}`),
        step.bash(`ipc hello.echo '{"message":"${PLANTED}"}' | tee ${t}`),
      ]);
      const run = await lab.session("outside", steps);
      expect(run.code).toBe(0);
      expect(run.transcript.exchanges.length).toBe(steps.length);
      for (const ex of run.transcript.exchanges) {
        // Refused, or it ran and failed (read-only root, read-only mount): never a success.
        if (!ex.isError) throw new Error(`a write outside the workspace succeeded: ${JSON.stringify(ex)}`);
      }
      const later = await lab.session("outside", [
        step.read("/etc/claude-code/managed-settings.json"),
        step.read("/etc/profile.d/planted.sh"),
      ]);
      expect(later.exchange(0).result).toBe(settingsBefore);
      expect(later.exchange(1).result).toContain("File does not exist");
      expect(later.transcript.everything).not.toContain(PLANTED);
      hostOwned.forEach((p, i) => {
        expect(diffTrees(before[i] as Map<string, never>, snapshotTree(p))).toEqual([]);
      });
      expect(hostEntry(join(lab.workspace("outside"), "planted"))).toBeNull();
    },
    HOSTILE_TIMEOUT_MS,
  );
});
