import { closeSync, existsSync, mkdirSync, openSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { defineCommand } from "citty";
import { homePath } from "../config/home.ts";
import { loadConfig } from "../config/load.ts";
import { CARAPACE_VERSION } from "../config/version.ts";
import { detectRuntime } from "../container/detect.ts";
import { buildAgentImage, CLAUDE_CODE_VERSION, fetchClaudeCode, imageState } from "../container/image.ts";
import { pinBuiltImage } from "../container/image-pin.ts";
import { instanceId } from "../container/lockdown.ts";
import { cacheCopyOfEmbedded } from "../transport/libzmq-path.ts";
import { CliError, EXIT } from "./errors.ts";
import { progress } from "./progress.ts";
import { printJson, withHome } from "./run-command.ts";

/** `ipc` for the image: given, beside this executable (a dev build), or fetched by install.sh. */
export function findIpcBinary(home: string, given?: string): string {
  const arch = process.arch === "arm64" ? "arm64" : "x64";
  const candidates = given
    ? [given]
    : [join(dirname(process.execPath), "ipc"), join(homePath(home, "lib"), `ipc-linux-${arch}`)];
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    throw new CliError(
      "IMAGE",
      `no ipc binary found (looked at ${candidates.join(", ")})`,
      "pass --ipc <path> or reinstall with install.sh",
      EXIT.usage,
    );
  }
  return found;
}

export interface ImageBuildRequest {
  ipc?: string;
  /** Default: runtime.base_image from config. */
  base?: string;
  tag?: string;
}

/** Builds the agent image as `carapace image build` does; progress goes to `log`. Returns the tag. */
export async function buildImageForHome(
  home: string,
  request: ImageBuildRequest,
  log: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Promise<string> {
  const config = loadConfig(home);
  const ipcPath = findIpcBinary(home, request.ipc);
  const { runtime, info } = await detectRuntime({ preference: config.runtime.engine });
  log(`[IMAGE] using ${info.name} ${info.version}`);
  log(`[IMAGE] getting Claude Code ${CLAUDE_CODE_VERSION} (cached after the first build)`);
  const claudePath = await fetchClaudeCode(CLAUDE_CODE_VERSION, join(homePath(home, "cache"), "claude-code"));
  log(`[IMAGE] Claude Code ${CLAUDE_CODE_VERSION} ready`);
  const tag = request.tag ?? config.runtime.image;
  await buildAgentImage(
    runtime,
    {
      tag,
      baseImage: request.base ?? config.runtime.base_image,
      carapaceVersion: CARAPACE_VERSION,
      revision: "release",
      claudeCodeVersion: CLAUDE_CODE_VERSION,
      ipcPath,
      libzmqPath: cacheCopyOfEmbedded().path,
      claudePath,
      owner: instanceId(home),
    },
    log,
  );
  // Image pinning: sessions run exactly this digest; a different image under the same tag is refused.
  const pin = await pinBuiltImage(home, runtime, tag);
  log(`[IMAGE] pinned ${tag} at ${pin.id}`);
  return tag;
}

/**
 * The build with progress: on a terminal a spinner with the current build step, off one only the
 * [IMAGE] lines; the runtime's whole output goes to <home>/cache/image-build.log either way.
 */
export async function buildImageWithProgress(home: string, request: ImageBuildRequest): Promise<string> {
  const logPath = join(homePath(home, "cache"), "image-build.log");
  mkdirSync(dirname(logPath), { recursive: true });
  const logFile = openSync(logPath, "w", 0o600);
  const shown = progress("building the agent image");
  try {
    const tag = await buildImageForHome(home, request, (line) => {
      writeSync(logFile, `${line}\n`);
      if (line.startsWith("[IMAGE]")) shown.note(line);
      else shown.detail(line);
    });
    shown.end(`built ${tag}`);
    return tag;
  } catch (error) {
    shown.end(`the image build failed; the runtime's whole output is in ${logPath}`);
    throw error;
  } finally {
    closeSync(logFile);
  }
}

const buildCommand = defineCommand({
  meta: {
    name: "build",
    description:
      "Build the agent image: the pinned Claude Code, the compiled ipc, libzmq and the lockdown settings.\n" +
      "Exit codes: 0 built; 1 build failed; 2 usage (no ipc binary).",
  },
  args: {
    ipc: { type: "string", description: "Path of the Linux ipc binary to put into the image" },
    base: {
      type: "string",
      description: "Base image (default: runtime.base_image from config, a Debian image from the registry)",
    },
    tag: { type: "string", description: "Image tag (default: runtime.image from config)" },
  },
  run: ({ args }) =>
    withHome(async (home) => {
      const tag = await buildImageWithProgress(home, {
        ...(args.ipc === undefined ? {} : { ipc: args.ipc }),
        ...(args.base === undefined ? {} : { base: args.base }),
        ...(args.tag === undefined ? {} : { tag: args.tag }),
      });
      process.stdout.write(`built ${tag}\n`);
      return EXIT.ok;
    }),
});

const statusCommand = defineCommand({
  meta: {
    name: "status",
    description: "Is the agent image present and current?\nExit codes: 0 current; 1 missing or stale.",
  },
  args: { json: { type: "boolean", description: "Print JSON", default: false } },
  run: ({ args }) =>
    withHome(async (home) => {
      const config = loadConfig(home);
      const { runtime } = await detectRuntime({ preference: config.runtime.engine });
      const state = await imageState(runtime, config.runtime.image, {
        carapaceVersion: CARAPACE_VERSION,
        claudeCodeVersion: CLAUDE_CODE_VERSION,
      });
      if (args.json) printJson({ image: config.runtime.image, ...state });
      else
        process.stdout.write(
          `${config.runtime.image}: ${state.state}${state.state === "stale" ? ` (${state.reasons.join("; ")})` : ""}\n`,
        );
      return state.state === "current" ? EXIT.ok : EXIT.failure;
    }),
});

export const imageCommand = defineCommand({
  meta: {
    name: "image",
    description:
      "Build or check the agent container image.\nExit codes: see each subcommand (0 built or current; 1 failed, missing or stale; 2 usage).",
  },
  subCommands: { build: buildCommand, status: statusCommand },
});
