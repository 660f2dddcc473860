/**
 * `carapace doctor --attack` through the compiled binary on real Podman with the real Claude Code:
 * on this clone's image every step is refused or contained (exit 0), the user's own home is not
 * touched and nothing is left behind; on an image whose session-configuration defence is switched
 * off, the planted-configuration step reports LEAKED and the command exits 1.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ATTACK_GROUP } from "../../../src/doctor/attack/plant.ts";
import type { AttackReport } from "../../../src/doctor/attack/run.ts";
import { ATTACK_STEPS } from "../../../src/doctor/attack/steps.ts";
import { agentImage, agentSkipReason } from "../../harness/agent-env.ts";
import { ensureBinaries } from "../../harness/binaries.ts";
import { tempHome } from "../../harness/core.ts";
import { runCommand } from "../../harness/run.ts";
import { diffTrees, snapshotTree } from "../../security/hostile-agent/host-inspect.ts";
import { buildSettingsMutant } from "./mutant-image.ts";

const TIMEOUT = 240_000;

function userHome(image: string): string {
  const home = tempHome();
  writeFileSync(join(home, "config.toml"), `[runtime]\nimage = "${image}"\n`, { mode: 0o600 });
  return home;
}

async function doctorAttack(home: string, json: boolean) {
  const { carapace } = ensureBinaries();
  return runCommand([carapace, "doctor", "--attack", ...(json ? ["--json"] : [])], {
    env: { PATH: "/usr/bin:/bin", HOME: home, CARAPACE_HOME: home, NO_COLOR: "1", TMPDIR: "/tmp" },
  });
}

const attackDirs = () => readdirSync("/tmp").filter((n) => n.startsWith("carapace-attack-"));
/** Containers of the attack group (other suites on this machine run containers of their own groups). */
const containers = () =>
  Bun.spawnSync(["podman", "ps", "-a", "--filter", `label=io.carapace.group=${ATTACK_GROUP}`, "--format", "{{.Names}}"])
    .stdout.toString()
    .split("\n")
    .filter(Boolean);

describe.skipIf(agentSkipReason !== null)("carapace doctor --attack (real Podman, real Claude Code)", () => {
  const mutants: { remove(): void }[] = [];
  afterAll(() => {
    for (const m of mutants) m.remove();
  });

  test(
    "every step is refused or contained with its evidence; exit 0; the user's home untouched, nothing left behind",
    async () => {
      const home = userHome(agentImage.tag);
      const before = snapshotTree(home);
      const dirsBefore = attackDirs();
      const containersBefore = containers();
      const r = await doctorAttack(home, true);
      const report = JSON.parse(r.stdout) as AttackReport;
      expect(r.stderr).toBe("");
      expect(report.steps.map((s) => s.id)).toEqual(ATTACK_STEPS.map((s) => s.id));
      for (const s of report.steps) {
        expect(["refused", "contained"]).toContain(s.verdict);
        expect(s.evidence.length).toBeGreaterThan(0);
      }
      const byId = Object.fromEntries(report.steps.map((s) => [s.id, s]));
      expect(byId["web-fetch"]?.verdict).toBe("refused");
      expect(byId["forged-group"]?.evidence).toContain("VALIDATION_FAILED");
      expect(byId.network?.evidence).toContain("interfaces inside: lo;");
      expect(byId.environment?.evidence).toMatch(/\d+ container processes checked from the host/);
      expect(byId["planted-config"]?.evidence).toContain("the planted files are in the workspace");
      expect(byId["write-outside"]?.evidence).toContain("a later session sees the settings unchanged");
      expect(report.ok).toBe(true);
      expect(r.code).toBe(0);
      expect(diffTrees(before, snapshotTree(home))).toEqual([]);
      expect(attackDirs().filter((d) => !dirsBefore.includes(d))).toEqual([]);
      expect(containers().filter((c) => !containersBefore.includes(c))).toEqual([]);
    },
    TIMEOUT,
  );

  test(
    "with the session-configuration defence switched off (a mutant image), planted-config is LEAKED and the exit is 1",
    async () => {
      const mutant = buildSettingsMutant(agentImage.tag);
      mutants.push(mutant);
      const home = userHome(mutant.tag);
      const r = await doctorAttack(home, false);
      expect(r.stdout).toMatch(/^LEAKED\s+planted-config: /m);
      expect(r.stdout).toContain("the workspace CLAUDE.md reached the model's instructions");
      expect(r.stdout).toMatch(/^refused\s+web-fetch: /m);
      expect(r.stdout).toContain("Result: LEAKED in 1 of");
      expect(r.code).toBe(1);
    },
    TIMEOUT,
  );
});
