/**
 * `carapace setup` (DX-13): the guided first run. Creates the home, picks the container runtime and
 * writes config.toml through the same validated path as `config set`, checks (and if agreed builds)
 * the agent image, checks credentials, runs the end-to-end smoke test and prints the next steps.
 * With --yes or without a terminal every question takes its default. An existing config.toml is never
 * changed: setup then only re-runs the checks.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { defineCommand } from "citty";
import { setConfigValue } from "../config/edit.ts";
import { ensureHome } from "../config/home.ts";
import type { Config } from "../config/keys.ts";
import { configPath, loadConfig } from "../config/load.ts";
import { CARAPACE_VERSION } from "../config/version.ts";
import { type DetectedRuntime, detectRuntime, listAvailableRuntimes } from "../container/detect.ts";
import { CLAUDE_CODE_VERSION, imageState } from "../container/image.ts";
import type { CheckResult } from "../doctor/check.ts";
import { checkCredentials } from "../doctor/checks.ts";
import { type Asker, askerFor } from "./ask.ts";
import { writeCheck } from "./doctor.ts";
import { CliError, EXIT } from "./errors.ts";
import { buildImageForHome } from "./image.ts";
import { configureOutput } from "./output.ts";
import { withHome } from "./run-command.ts";
import { smokeTest } from "./smoke-test.ts";

type Engine = Config["runtime"]["engine"];
const ENGINES = ["auto", "podman", "docker", "apple"] as const satisfies readonly Engine[];
const API_CREDENTIALS = ["anthropic_api_key", "anthropic_oauth_token"];

interface SetupOptions {
  ask: Asker | null;
  engine: Engine | undefined;
  skipImage: boolean;
  buildImage: boolean;
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
  checksOnly: boolean,
): Promise<CheckResult> {
  const image = config.runtime.image;
  const base = { id: "image", title: "agent image" } as const;
  if (detected === null)
    return { ...base, level: "warn", detail: `${image} not checked: no container runtime`, fix: "install one first" };
  const expected = { carapaceVersion: CARAPACE_VERSION, claudeCodeVersion: CLAUDE_CODE_VERSION };
  const state = await imageState(detected.runtime, image, expected);
  const missingOrStale =
    state.state === "missing" ? "missing" : state.state === "stale" ? `stale (${state.reasons.join("; ")})` : null;
  if (missingOrStale === null && !options.buildImage) return { ...base, level: "pass", detail: `${image} is current` };
  if (options.skipImage)
    return {
      ...base,
      level: "warn",
      detail: `${image} is ${missingOrStale ?? "current"}; not built (--skip-image)`,
      fix: "build it with `carapace image build` before the first `carapace prompt`",
    };
  const build =
    options.buildImage ||
    (!checksOnly &&
      (options.ask === null ||
        (await options.ask.confirm(`${image} is ${missingOrStale}. Build it now (a few minutes)?`, true))));
  if (!build)
    return {
      ...base,
      level: "warn",
      detail: `${image} is ${missingOrStale}`,
      fix: "build it with `carapace image build` (or `carapace setup --build-image`)",
    };
  try {
    await buildImageForHome(home, {});
  } catch (e) {
    return {
      ...base,
      level: "fail",
      detail: `building ${image} failed: ${(e as Error).message}`,
      fix: "run `carapace image build` to see the whole build log",
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

function credentialSteps(home: string): CheckResult[] {
  const results = checkCredentials(home);
  const present = API_CREDENTIALS.some((key) => existsSync(join(home, "credentials", key)));
  results.push(
    present
      ? { id: "credentials.api", title: "API credential", level: "pass", detail: "an Anthropic credential is stored" }
      : {
          id: "credentials.api",
          title: "API credential",
          level: "warn",
          detail: "no Anthropic API key or OAuth token stored yet; agent sessions need one",
          fix: `store it with \`(umask 077; cat > ${join(home, "credentials", "anthropic_api_key")})\``,
        },
  );
  return results;
}

function nextSteps(home: string): string {
  return [
    "",
    "Next steps:",
    "  carapace start               run the core (leave it running in its own terminal or as a service)",
    '  carapace prompt "<task>"     give the agent a task',
    "  carapace doctor              check the installation at any time",
    `  carapace config list         see every setting (${configPath(home)})`,
    "",
  ].join("\n");
}

export const setupCommand = defineCommand({
  meta: {
    name: "setup",
    description:
      "Guided first run: pick the container runtime, write config.toml, check or build the agent image, run an end-to-end smoke test.\n" +
      "With --yes or without a terminal no questions are asked (the defaults: the first runtime found, build a missing image).\n" +
      "When config.toml exists it is kept and only the checks run.\n" +
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
  },
  run: ({ args }) =>
    withHome(async (home) => {
      const options: SetupOptions = {
        ask: askerFor("SETUP", args.yes),
        engine: args.engine as Engine | undefined,
        skipImage: args["skip-image"],
        buildImage: args["build-image"],
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
        process.stdout.write(`${path} already exists: setup keeps it and only re-runs the checks.\n`);
        if (options.ask && !(await options.ask.confirm("Re-run the checks (runtime, image, smoke test)?", true))) {
          process.stdout.write("Nothing was changed.\n");
          return EXIT.ok;
        }
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
        report({ id: "config", title: "config.toml", level: "pass", detail: `${path} is valid (kept as it is)` });
      }
      report(runtime.result);
      report(await imageStep(home, config, runtime.detected, options, checksOnly));
      for (const r of credentialSteps(home)) report(r);

      const smoke = await smokeTest(home, config.hello.enabled);
      report({
        id: "smoke",
        title: "end-to-end smoke test",
        level: smoke.ok ? "pass" : "fail",
        detail: smoke.detail,
        ...(smoke.fix === undefined ? {} : { fix: smoke.fix }),
      });

      const failures = results.filter((r) => r.level === "fail").length;
      if (failures > 0) {
        process.stdout.write(
          `\nSetup finished with ${failures} failure(s). Fix them as shown, then run \`carapace setup\` again.\n`,
        );
        return EXIT.failure;
      }
      process.stdout.write(nextSteps(home));
      return EXIT.ok;
    }),
});
