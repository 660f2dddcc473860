import { describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startScriptedModel } from "../../src/agent/scripted-model.ts";
import { CARAPACE_VERSION } from "../../src/config/version.ts";
import { ensureBinaries } from "../harness/binaries.ts";
import { tempHome } from "../harness/core.ts";
import { hasScript, onPty } from "../harness/pty.ts";
import { runCommand } from "../harness/run.ts";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** A user home with the Carapace home inside it, as install.sh lays it out. */
function freshUser(): { user: string; home: string; env: Record<string, string> } {
  const user = tempHome();
  const home = join(user, "c");
  return { user, home, env: { PATH: "/usr/bin:/bin", HOME: user, CARAPACE_HOME: home, TMPDIR: "/tmp" } };
}

/** stdin stays an open pipe that never delivers a byte: a prompt would hang until the test times out. */
async function carapace(args: string[], env: Record<string, string>): Promise<Run> {
  const { carapace: bin } = ensureBinaries();
  return runCommand([bin, ...args], { env, stdinOpen: true });
}

const AGENT_IMAGE = `localhost/carapace-agent:${CARAPACE_VERSION}`;
const hasPodman = Bun.spawnSync(["sh", "-c", "command -v podman"]).exitCode === 0;

/** The agent image is present and current (what `carapace image status` reports, exit 0). */
async function imageCurrent(): Promise<boolean> {
  if (!hasPodman) return false;
  const { env } = freshUser();
  return (await carapace(["image", "status"], env)).code === 0;
}

const PROMPTS = ["Container runtime for agent sessions", "Build it now", "Which Anthropic credential", "Run the demo"];

describe("carapace setup through the compiled binary", () => {
  test("fresh home → setup --yes → doctor reports no failures", async () => {
    const current = await imageCurrent();
    if (!current)
      console.log(
        `[setup test] ${hasPodman ? `${AGENT_IMAGE} is not current` : "podman is not installed"}: ` +
          "running setup with --skip-image and leaving the runtime/image checks out",
      );
    const { home, env } = freshUser();
    // The credential was stored before (carapace auth api-key): setup says it is already done.
    mkdirSync(join(home, "credentials"), { recursive: true, mode: 0o700 });
    writeFileSync(join(home, "credentials", "anthropic_api_key"), "sk-ant-setup-test-0000", { mode: 0o600 });
    const setup = await carapace(["setup", "--yes", ...(current ? [] : ["--skip-image"])], env);
    expect(setup.stdout).toContain("✓ pass Anthropic credential: anthropic_api_key is stored (sk-…0000; already done)");
    expect(setup.stdout).toContain("✓ pass end-to-end smoke test: session opened");
    expect(setup.stdout).toContain(`wrote ${join(home, "config.toml")}`);
    expect(setup.stdout).toContain("Next steps:");
    expect(readFileSync(join(home, "config.toml"), "utf8")).toMatch(/^\[runtime\]\nengine = "(podman|docker|auto)"\n/);
    // Nothing the smoke test started is left running.
    expect(existsSync(join(home, "run", "control.sock"))).toBe(false);

    const doctor = await carapace(["doctor", "--json"], env);
    const checks = (JSON.parse(doctor.stdout) as { checks: { id: string; level: string }[] }).checks;
    const failures = checks.filter((c) => c.level === "fail").map((c) => c.id);
    if (current) {
      expect(setup.code).toBe(0);
      expect(setup.stdout).toContain(`✓ pass agent image: ${AGENT_IMAGE} is current (already done)`);
      expect(failures).toEqual([]);
      expect(doctor.code).toBe(0);
    } else {
      expect(failures.filter((id) => id !== "runtime" && id !== "image")).toEqual([]);
    }
  }, 60_000);

  test("without a terminal and without --yes it asks nothing and takes the defaults", async () => {
    const { home, env } = freshUser();
    const r = await carapace(["setup", "--skip-image"], env);
    for (const question of PROMPTS) expect(r.stdout + r.stderr).not.toContain(question);
    expect(r.stdout).toContain("✓ pass end-to-end smoke test");
    expect(existsSync(join(home, "config.toml"))).toBe(true);
    expect(r.stdout).toMatch(
      /agent image: \S+ (is current|is (missing|stale.*); not built \(--skip-image\)|not checked)/,
    );
  }, 60_000);

  test("an existing config.toml is kept byte for byte and only the checks run again", async () => {
    const { home, env } = freshUser();
    mkdirSync(home, { recursive: true });
    const text = '# mine\n[hello]\nenabled = false   # keep this comment\n\n[runtime]\nengine = "auto"\n';
    writeFileSync(join(home, "config.toml"), text, { mode: 0o600 });
    const r = await carapace(["setup", "--skip-image"], env);
    expect(r.stdout).toContain(`${join(home, "config.toml")} already exists: setup keeps it`);
    expect(r.stdout).toContain("(kept as it is; already done)");
    // hello is off in this config, so the smoke test calls get_session_info instead of hello.echo.
    expect(r.stdout).toContain("✓ pass end-to-end smoke test");
    expect(readFileSync(join(home, "config.toml"), "utf8")).toBe(text);

    const engine = await carapace(["setup", "--engine", "podman"], env);
    expect(engine.code).toBe(2);
    expect(engine.stderr).toContain("[SETUP] Error: ");
    expect(engine.stderr).toContain("Fix: set the runtime with `carapace config set runtime.engine podman`");
    expect(readFileSync(join(home, "config.toml"), "utf8")).toBe(text);
  }, 60_000);

  test.skipIf(!hasPodman)(
    "with an existing config a missing image is reported with its fix, not built",
    async () => {
      const { home, env } = freshUser();
      mkdirSync(home, { recursive: true });
      const image = "localhost/carapace-agent:absent-setup-test";
      writeFileSync(join(home, "config.toml"), `[runtime]\nengine = "podman"\nimage = "${image}"\n`, { mode: 0o600 });
      const r = await carapace(["setup"], env);
      expect(r.stdout).toContain(`! warn agent image: ${image} is missing`);
      expect(r.stdout).toContain("Fix: build it with `carapace image build`");
      expect(r.code).toBe(0);
    },
    60_000,
  );

  test("a core that cannot start fails the smoke test with its fix and exit 1", async () => {
    const { home, env } = freshUser();
    mkdirSync(join(home, "credentials"), { recursive: true, mode: 0o755 });
    chmodSync(join(home, "credentials"), 0o755);
    const r = await carapace(["setup", "--yes", "--skip-image"], env);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/✗ fail end-to-end smoke test: the core did not start: .*0755/);
    expect(r.stdout).toContain("Fix: run `carapace start` to see the whole error");
    expect(r.stdout).toContain("Setup finished with");
    expect(r.stdout).not.toContain("Next steps:");
  }, 60_000);

  test("an invalid existing config.toml stops setup with the config error", async () => {
    const { home, env } = freshUser();
    mkdirSync(home, { recursive: true });
    writeFileSync(join(home, "config.toml"), "[security]\nrate_limit = 5\n", { mode: 0o600 });
    const r = await carapace(["setup", "--yes"], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^\[CONFIG\] Error: .*rate_limit.*Fix: /);
  });

  test("--skip-image with --build-image is a usage error", async () => {
    const { env } = freshUser();
    const r = await carapace(["setup", "--skip-image", "--build-image"], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("[SETUP] Error: --skip-image and --build-image contradict each other.");
  });
});

describe.skipIf(!hasScript)("carapace setup on a terminal", () => {
  test("asks for the credential (hidden), verifies it upstream, stores it; a second run says every step is done", async () => {
    const model = await startScriptedModel({ turns: [] });
    try {
      const { home, env } = freshUser();
      mkdirSync(home, { recursive: true });
      const port = new URL(model.url).port;
      writeFileSync(
        join(home, "config.toml"),
        `[network]\nupstream_url = "${model.url}"\nupstream_allowlist = ["127.0.0.1:${port}"]\n`,
        { mode: 0o600 },
      );
      const key = "sk-ant-typed-at-the-prompt-1234";
      const first = onPty([ensureBinaries().carapace, "setup", "--skip-image", "--no-demo"], env);
      await first.waitFor("Which Anthropic credential should sessions use?");
      first.type("\r");
      await first.waitFor("Anthropic API key");
      first.type(`${key}\r`);
      await first.waitFor("Next steps:");
      expect(await first.exited).toBe(0);
      expect(first.screen()).not.toContain(key);
      expect(first.screen()).toContain("✓ pass Anthropic credential: anthropic_api_key stored (sk-…1234) and verified");
      expect(readFileSync(join(home, "credentials", "anthropic_api_key"), "utf8").trim()).toBe(key);
      expect(model.requests.some((r) => r.path === "/v1/messages/count_tokens")).toBe(true);

      const again = onPty([ensureBinaries().carapace, "setup", "--skip-image", "--no-demo"], env);
      await again.waitFor("Next steps:");
      expect(await again.exited).toBe(0);
      expect(again.screen()).not.toContain("Which Anthropic credential");
      expect(again.screen()).toContain("(kept as it is; already done)");
      expect(again.screen()).toContain("anthropic_api_key is stored (sk-…1234; already done)");
    } finally {
      await model.close();
    }
  }, 120_000);
});
