import { describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureBinaries } from "../harness/binaries.ts";
import { startCore, tempHome } from "../harness/core.ts";
import { runCommand } from "../harness/run.ts";

interface Doctor {
  code: number;
  posture: string;
  checks: { id: string; level: string; detail: string; fix?: string }[];
}

async function doctor(home: string, extra: string[] = []): Promise<Doctor> {
  const { carapace } = ensureBinaries();
  const { code, stdout } = await runCommand([carapace, "doctor", "--json", ...extra], {
    env: { PATH: "/usr/bin:/bin", HOME: home, CARAPACE_HOME: home, TMPDIR: "/tmp" },
  });
  return { code, ...(JSON.parse(stdout) as Omit<Doctor, "code">) };
}

const hasPodman = Bun.spawnSync(["sh", "-c", "command -v podman"]).exitCode === 0;
const failing = (d: Doctor) => d.checks.filter((c) => c.level === "fail");

describe("carapace doctor through the compiled binary", () => {
  test("a fresh home has no failures besides the image when it is not built", async () => {
    const d = await doctor(tempHome());
    const fails = failing(d).map((c) => c.id);
    expect(fails.filter((id) => id !== "image" && id !== "runtime" && id !== "credentials.api")).toEqual([]);
    expect(d.checks.find((c) => c.id === "libzmq")?.level).toBe("pass");
  });

  test("a bad config key fails with the valid keys and exit 1", async () => {
    const home = tempHome();
    writeFileSync(join(home, "config.toml"), "[security]\nrate_limit = 5\n");
    const d = await doctor(home);
    expect(d.code).toBe(1);
    const c = d.checks.find((x) => x.id === "config");
    expect(c?.level).toBe("fail");
    expect(c?.detail).toContain("rate_limit");
    expect(c?.fix).toBeTruthy();
  });

  test("a 0755 credentials directory fails with its fix", async () => {
    const home = tempHome();
    mkdirSync(join(home, "credentials"), { mode: 0o755 });
    chmodSync(join(home, "credentials"), 0o755);
    const d = await doctor(home);
    expect(d.code).toBe(1);
    const c = failing(d).find((x) => x.id.startsWith("credentials"));
    expect(c?.detail).toContain("0755");
    expect(c?.fix).toContain("chmod");
  });

  test("a symlinked credential file fails", async () => {
    const home = tempHome();
    mkdirSync(join(home, "credentials"), { mode: 0o700 });
    chmodSync(join(home, "credentials"), 0o700);
    writeFileSync(join(home, "elsewhere"), "x", { mode: 0o600 });
    symlinkSync(join(home, "elsewhere"), join(home, "credentials", "anthropic"));
    const d = await doctor(home);
    expect(d.code).toBe(1);
    expect(failing(d).some((x) => x.id.startsWith("credentials") && /symbolic link|symlink/i.test(x.detail))).toBe(
      true,
    );
  });

  test("an overlong socket path fails with a fix", async () => {
    const base = mkdtempSync("/tmp/cpd-");
    const home = join(base, "x".repeat(90));
    const d = await doctor(home);
    expect(d.code).toBe(1);
    const c = d.checks.find((x) => x.id === "sockets");
    expect(c?.level).toBe("fail");
    expect(c?.fix).toContain("shorter");
  });

  test.skipIf(!hasPodman)("a missing image fails with how to build it", async () => {
    const home = tempHome();
    writeFileSync(join(home, "config.toml"), '[runtime]\nimage = "localhost/carapace-agent:does-not-exist"\n');
    const d = await doctor(home);
    expect(d.code).toBe(1);
    const c = d.checks.find((x) => x.id === "image");
    expect(c?.level).toBe("fail");
    expect(c?.detail).toContain("missing");
    expect(d.checks.find((x) => x.id === "runtime")?.detail).toContain("podman");
  });

  test("--live makes a real round trip through a running core", async () => {
    const core = await startCore();
    try {
      const d = await doctor(core.home, ["--live"]);
      expect(d.checks.find((x) => x.id === "live")).toMatchObject({ level: "pass" });
    } finally {
      await core.stop();
    }
    // A stopped core is a warning with its fix, never a failure that turns the posture red.
    const stopped = await doctor(core.home, ["--live"]);
    expect(stopped.checks.find((x) => x.id === "live")).toMatchObject({
      level: "warn",
      detail: "not made: the core is not running",
    });
  });

  test("the Anthropic credential is checked: missing fails with setup as the fix, stored passes", async () => {
    const home = tempHome();
    const missing = await doctor(home);
    expect(missing.checks.find((x) => x.id === "credentials.api")).toMatchObject({
      level: "fail",
      fix: "run `carapace setup` (or `carapace auth api-key`)",
    });
    mkdirSync(join(home, "credentials"), { mode: 0o700 });
    chmodSync(join(home, "credentials"), 0o700);
    writeFileSync(join(home, "credentials", "anthropic_api_key"), "sk-ant-test-0000", { mode: 0o600 });
    const stored = await doctor(home);
    expect(stored.checks.find((x) => x.id === "credentials.api")).toMatchObject({
      level: "pass",
      detail: "an API key is stored",
    });
    expect(JSON.stringify(stored)).not.toContain("sk-ant-test-0000");
  });

  test("an upstream outside the allowlist fails the config check", async () => {
    const home = tempHome();
    writeFileSync(join(home, "config.toml"), '[network]\nupstream_url = "http://evil.example:8080"\n');
    const d = await doctor(home);
    expect(d.checks.find((x) => x.id === "config.network")).toMatchObject({
      level: "fail",
      detail: expect.stringContaining("evil.example:8080 is not in [network] upstream_allowlist"),
    });
  });

  test("human output ends with the security posture", async () => {
    const { carapace } = ensureBinaries();
    const home = tempHome();
    const r = Bun.spawnSync([carapace, "doctor"], { env: { PATH: "/usr/bin:/bin", HOME: home, CARAPACE_HOME: home } });
    expect(r.stdout.toString()).toMatch(/Security posture: (GREEN|YELLOW|RED)/);
  });
});
