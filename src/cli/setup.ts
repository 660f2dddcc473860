/**
 * `carapace setup`: the one onboarding path. Creates the home, picks the container runtime and writes
 * config.toml through the same validated path as `config set`, stores the Anthropic credential (the
 * `carapace auth` flow, asked on a terminal), builds the agent image with progress when it is missing
 * or stale, runs the end-to-end smoke test and the container probe, then offers the real demo. Re-running
 * it is safe: each step that is already done says so and changes nothing (an existing config.toml is
 * never changed).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { defineCommand } from "citty";
import { readAnthropicCredential } from "../agent/egress-credential.ts";
import { setConfigValue } from "../config/edit.ts";
import { ensureHome, homePath } from "../config/home.ts";
import type { Config } from "../config/keys.ts";
import { configPath, loadConfig } from "../config/load.ts";
import { CARAPACE_VERSION } from "../config/version.ts";
import { type DetectedRuntime, detectRuntime, listAvailableRuntimes } from "../container/detect.ts";
import { CLAUDE_CODE_VERSION, imageState } from "../container/image.ts";
import type { CheckResult } from "../doctor/check.ts";
import { checkCredentials } from "../doctor/checks.ts";
import { type Asker, askerFor } from "./ask.ts";
import { authStatus, runAuthStore } from "./auth.ts";
import { containerProbe } from "./container-probe.ts";
import { runDemo } from "./demo.ts";
import { writeCheck } from "./doctor.ts";
import { CliError, EXIT } from "./errors.ts";
import { buildImageWithProgress } from "./image.ts";
import { configureOutput } from "./output.ts";
import { withHome } from "./run-command.ts";
import { smokeTest } from "./smoke-test.ts";

type Engine = Config["runtime"]["engine"];
const ENGINES = ["auto", "podman", "docker", "apple"] as const satisfies readonly Engine[];

interface SetupOptions {
  ask: Asker | null;
  /** --yes: every question takes its default without being asked. */
  yes: boolean;
  engine: Engine | undefined;
  skipImage: boolean;
  buildImage: boolean;
  demo: boolean | undefined;
}

/** The engine for a new config: --engine, else the user's pick among those found, else the first found. */
async function chooseEngine(options: SetupOptions): Promise<Engine> {
  if (options.engine !== undefined) return options.engine;
  const available = await listAvailableRuntimes();
  const first = available[0];
  if (first === undefined) return "auto";
  if (options.ask === null) return first;
  return await options.ask.select<Engine>("Container runtime for agent sessions", [...available, "auto"], first);
}

async function runtimeStep(engine: Engine): Promise<{ result: CheckResult; detected: DetectedRuntime | null }> {
  try {
    const detected = await detectRuntime({ preference: engine });
    const { info } = detected;
    const limits = info.enforcesLimits ? "" : "; memory and pids limits are NOT enforced (see `carapace doctor`)";
    return {
      detected,
      result: {
        id: "runtime",
        title: "container runtime",
        level: info.enforcesLimits ? "pass" : "warn",
        detail: `${info.name} ${info.version}, isolation ${info.isolation}${limits}`,
        ...(info.enforcesLimits ? {} : { fix: "run `carapace doctor` for the runtime settings to change" }),
      },
    };
  } catch (e) {
    const error = e as { what?: string; fix?: string; message: string };
    return {
      detected: null,
      result: {
        id: "runtime",
        title: "container runtime",
        level: "fail",
        detail: error.what ?? error.message,
        fix: error.fix ?? "install Podman or Docker, then run `carapace setup` again",
      },
    };
  }
}

async function imageStep(
  home: string,
  config: Config,
  detected: DetectedRuntime | null,
  options: SetupOptions,
): Promise<CheckResult> {
  const image = config.runtime.image;
  const base = { id: "image", title: "agent image" } as const;
  if (detected === null)
    return { ...base, level: "warn", detail: `${image} not checked: no container runtime`, fix: "install one first" };
  const expected = { carapaceVersion: CARAPACE_VERSION, claudeCodeVersion: CLAUDE_CODE_VERSION };
  const state = await imageState(detected.runtime, image, expected);
  const missingOrStale =
    state.state === "missing" ? "missing" : state.state === "stale" ? `stale (${state.reasons.join("; ")})` : null;
  if (missingOrStale === null && !options.buildImage)
    return { ...base, level: "pass", detail: `${image} is current (already done)` };
  if (options.skipImage)
    return {
      ...base,
      level: "warn",
      detail: `${image} is ${missingOrStale ?? "current"}; not built (--skip-image)`,
      fix: "build it with `carapace image build` before the first `carapace prompt`",
    };
  const build =
    options.buildImage ||
    options.yes ||
    (options.ask !== null &&
      (await options.ask.confirm(`${image} is ${missingOrStale}. Build it now (a few minutes)?`, true)));
  if (!build)
    return {
      ...base,
      level: "warn",
      detail: `${image} is ${missingOrStale}`,
      fix: "build it with `carapace image build` (or `carapace setup --yes`)",
    };
  try {
    await buildImageWithProgress(home, {});
  } catch (e) {
    return {
      ...base,
      level: "fail",
      detail: `building ${image} failed: ${(e as Error).message}`,
      fix: `read ${join(homePath(home, "cache"), "image-build.log")}, then run \`carapace setup\` again`,
    };
  }
  const after = await imageState(detected.runtime, image, expected);
  return after.state === "current"
    ? { ...base, level: "pass", detail: `${image} built` }
    : {
        ...base,
        level: "fail",
        detail: `${image} is ${after.state} after the build`,
        fix: "run `carapace image build`",
      };
}

const CREDENTIAL_CHOICES = ["API key", "Claude subscription (OAuth token from `claude setup-token`)", "later"] as const;

/** The credential: already stored (said so), asked for on a terminal (the `carapace auth` flow), or its fix. */
async function credentialSteps(home: string, options: SetupOptions): Promise<CheckResult[]> {
  const results = checkCredentials(home);
  const base = { id: "credentials.api", title: "Anthropic credential" } as const;
  const stored = () => authStatus(home).credentials.find((c) => c.active);
  let before: ReturnType<typeof stored>;
  try {
    before = stored();
  } catch (e) {
    // An unsafe store is already reported above (checkCredentials); nothing is asked or written.
    const error = e as { what?: string; message: string };
    return [
      ...results,
      {
        ...base,
        level: "fail",
        detail: error.what ?? error.message,
        fix: "fix the credential directory as shown above",
      },
    ];
  }
  if (before !== undefined) {
    results.push({ ...base, level: "pass", detail: `${before.name} is stored (${before.masked}; already done)` });
    return results;
  }
  const later = {
    ...base,
    level: "warn",
    detail: "no Anthropic API key or OAuth token is stored yet; agent sessions need one",
    fix: "run `carapace auth api-key` (or `carapace auth login`), or `carapace setup` again on a terminal",
  } as const;
  if (options.ask === null) return [...results, later];
  const { ask } = options;
  const choice = await ask.select("Which Anthropic credential should sessions use?", CREDENTIAL_CHOICES, "API key");
  if (choice === "later") return [...results, later];
  const kind = choice === "API key" ? "api-key" : "oauth-token";
  for (let attempt = 0; attempt < 3 && readAnthropicCredential(home) === null; attempt++) {
    await runAuthStore(
      home,
      kind,
      { verify: true },
      {
        out: (line) => process.stdout.write(`${line}\n`),
        err: (line) => process.stdout.write(`${line}\n`),
        readSecret: (prompt) => ask.secret(prompt.replace(/ \(input hidden\): $/, "")),
      },
    );
  }
  const after = stored();
  results.push(
    after === undefined
      ? { ...later, level: "fail", detail: "the credential was not stored (see the error above)" }
      : { ...base, level: "pass", detail: `${after.name} stored (${after.masked}) and verified` },
  );
  return results;
}

function nextSteps(home: string, demoRan: boolean): string {
  return [
    "",
    "Next steps:",
    ...(demoRan ? [] : ["  carapace demo                see a real agent session (scripted model, no API cost)"]),
    "  carapace start               run the core (leave it running in its own terminal or as a service)",
    '  carapace prompt "<task>"     give the agent a task',
    "  carapace doctor              check the installation at any time",
    `  carapace config list         see every setting (${configPath(home)})`,
    "",
  ].join("\n");
}

/** The demo when it can run and is wanted: true it ran and passed, false it failed, undefined not run. */
async function offerDemo(home: string, options: SetupOptions, imageReady: boolean): Promise<boolean | undefined> {
  if (options.demo === false || !imageReady) return undefined;
  const wanted =
    options.demo === true ||
    (options.ask !== null &&
      (await options.ask.confirm(
        "Run the demo now: a real agent session with a scripted model (about a minute)?",
        true,
      )));
  if (!wanted) return undefined;
  process.stdout.write("\n");
  const code = await runDemo(home);
  if (code !== EXIT.ok)
    process.stdout.write("\nThe demo failed (output above). Fix what it names, then run `carapace demo` again.\n");
  return code === EXIT.ok;
}

export const setupCommand = defineCommand({
  meta: {
    name: "setup",
    description:
      "Guided first run: runtime, config.toml, the Anthropic credential, the agent image, a smoke test and a container probe, then the demo.\n" +
      "On a terminal each step asks; --yes takes every default (the first runtime found, build a missing image, no demo unless --demo).\n" +
      "Without a terminal and without --yes nothing is asked and nothing is built. Re-running is safe: a step already done says so.\n" +
      "An existing config.toml is kept as it is.\n" +
      "Exit codes: 0 ready (every step passed, warnings allowed); 1 a step failed; 2 usage error.",
  },
  args: {
    yes: { type: "boolean", description: "Ask nothing; take every default", default: false },
    engine: {
      type: "enum",
      options: [...ENGINES],
      description: "Container runtime for a new config.toml (default: the first one found)",
    },
    "skip-image": { type: "boolean", description: "Check the agent image but never build it", default: false },
    "build-image": { type: "boolean", description: "Build the agent image even when it is current", default: false },
    demo: { type: "boolean", description: "Run the demo at the end without asking (--no-demo: never)" },
  },
  run: ({ args }) =>
    withHome(async (home) => {
      const options: SetupOptions = {
        ask: askerFor("SETUP", args.yes),
        yes: args.yes,
        engine: args.engine as Engine | undefined,
        skipImage: args["skip-image"],
        buildImage: args["build-image"],
        demo: args.demo as boolean | undefined,
      };
      if (options.skipImage && options.buildImage)
        throw new CliError(
          "SETUP",
          "--skip-image and --build-image contradict each other",
          "pass one of them",
          EXIT.usage,
        );
      const results: CheckResult[] = [];
      const report = (r: CheckResult) => {
        results.push(r);
        writeCheck(r);
      };

      ensureHome(home);
      const path = configPath(home);
      const checksOnly = existsSync(path);
      if (checksOnly) {
        if (options.engine !== undefined)
          throw new CliError(
            "SETUP",
            `${path} already exists and setup does not change it`,
            `set the runtime with \`carapace config set runtime.engine ${options.engine}\``,
            EXIT.usage,
          );
        process.stdout.write(`${path} already exists: setup keeps it; steps already done say so.\n`);
      }
      report({ id: "home", title: "home", level: "pass", detail: `${home} is ready` });

      let config = loadConfig(home);
      configureOutput(config.logging);
      const engine = checksOnly ? config.runtime.engine : await chooseEngine(options);
      const runtime = await runtimeStep(engine);
      if (!checksOnly) {
        const written = setConfigValue(home, "runtime.engine", engine);
        config = loadConfig(home);
        report({
          id: "config",
          title: "config.toml",
          level: "pass",
          detail: `wrote ${written.path} (runtime.engine = ${engine})`,
        });
      } else {
        report({
          id: "config",
          title: "config.toml",
          level: "pass",
          detail: `${path} is valid (kept as it is; already done)`,
        });
      }
      report(runtime.result);
      for (const r of await credentialSteps(home, options)) report(r);
      const image = await imageStep(home, config, runtime.detected, options);
      report(image);

      const smoke = await smokeTest(home, config.hello.enabled);
      report({
        id: "smoke",
        title: "end-to-end smoke test",
        level: smoke.ok ? "pass" : "fail",
        detail: smoke.detail,
        ...(smoke.fix === undefined ? {} : { fix: smoke.fix }),
      });
      for (const r of await containerProbe(home)) report(r);

      const failures = results.filter((r) => r.level === "fail").length;
      if (failures > 0) {
        process.stdout.write(
          `\nSetup finished with ${failures} failure(s). Fix them as shown, then run \`carapace setup\` again.\n`,
        );
        return EXIT.failure;
      }
      const demoRan = await offerDemo(home, options, image.level === "pass");
      if (demoRan === false) return EXIT.failure;
      process.stdout.write(nextSteps(home, demoRan === true));
      return EXIT.ok;
    }),
});
