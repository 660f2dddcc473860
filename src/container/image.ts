/**
 * The agent image: assembling its build context, building it with progress output, and checking at
 * start-up whether the local image matches what this carapace expects (OCI labels).
 */
import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import apiKeyHelper from "../../container/api-key-helper.sh" with { type: "text" };
import containerfile from "../../container/Containerfile" with { type: "text" };
import entrypoint from "../../container/entrypoint.sh" with { type: "text" };
import ipcFront from "../../container/ipc-front.sh" with { type: "text" };
import { CLAUDE_CODE_INTEGRITY, verifyClaudeCodeTarball } from "./claude-code-pin.ts";
import { ContainerError } from "./errors.ts";
import { bunExec, type Exec } from "./exec.ts";
import { type ManagedSettingsOptions, managedSettingsJson } from "./managed-settings.ts";
import { LABELS } from "./paths.ts";
import type { ContainerRuntime } from "./runtime.ts";

/** The Claude Code release baked into the image (npm @anthropic-ai/claude-code). */
export const CLAUDE_CODE_VERSION = "2.1.331";

export const IMAGE_LABELS = {
  version: "org.opencontainers.image.version",
  revision: "org.opencontainers.image.revision",
  created: "org.opencontainers.image.created",
  claudeCode: "io.carapace.claude-code.version",
  /** Digest of the Containerfile, entrypoint and managed settings the image was built from. */
  recipe: "io.carapace.recipe",
} as const;

/** Changes whenever the image recipe changes, so a settings change marks the image stale. */
export function recipeDigest(settings?: ManagedSettingsOptions): string {
  return createHash("sha256")
    .update(containerfile)
    .update("\0")
    .update(entrypoint)
    .update("\0")
    .update(apiKeyHelper)
    .update("\0")
    .update(ipcFront)
    .update("\0")
    .update(managedSettingsJson(settings))
    .digest("hex")
    .slice(0, 16);
}

export function agentImageTag(carapaceVersion: string): string {
  return `localhost/carapace-agent:${carapaceVersion}`;
}

export interface AgentImageInputs {
  tag: string;
  baseImage: string;
  carapaceVersion: string;
  /** Git commit (or "unknown"). */
  revision: string;
  claudeCodeVersion: string;
  /** Compiled `ipc` for the image's architecture (dist/ipc). */
  ipcPath: string;
  /** libzmq shared object the image's `ipc` loads (CARAPACE_LIBZMQ). */
  libzmqPath: string;
  /** The native `claude` executable of claudeCodeVersion (see fetchClaudeCode). */
  claudePath: string;
  settings?: ManagedSettingsOptions;
  /** Build date; defaults to now. Fixed in tests for reproducible labels. */
  created?: string;
  /** Instance id of the home that builds it: `carapace uninstall` removes only its own home's images. */
  owner?: string;
}

export interface ExpectedImage {
  carapaceVersion: string;
  claudeCodeVersion: string;
  /** Compared only when given (a release build pins it; a dev build may not). */
  revision?: string;
  recipe?: string;
}

export type ImageState = { state: "current" } | { state: "missing" } | { state: "stale"; reasons: string[] };

function requireFile(label: string, path: string, fix: string): void {
  if (!existsSync(path) || !statSync(path).isFile()) {
    throw new ContainerError(`${label} not found at ${path}`, fix);
  }
}

/** Writes the complete build context into dir (created if missing). */
export function assembleContext(inputs: AgentImageInputs, dir: string): void {
  requireFile(
    "the ipc binary",
    inputs.ipcPath,
    "run install.sh again (it puts ipc into $CARAPACE_HOME/lib) or pass its path with --ipc; from a checkout, `bun run build` makes dist/ipc",
  );
  requireFile(
    "libzmq",
    inputs.libzmqPath,
    "run `carapace image build`, which uses the libzmq inside carapace; from a checkout, `bun build/prepare-libzmq.ts`",
  );
  requireFile(
    "the Claude Code binary",
    inputs.claudePath,
    `run \`carapace image build\` with access to the npm registry once: it fetches Claude Code ${inputs.claudeCodeVersion} and checks its integrity`,
  );
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "Containerfile"), containerfile);
  writeFileSync(join(dir, "entrypoint.sh"), entrypoint, { mode: 0o755 });
  writeFileSync(join(dir, "ipc-front.sh"), ipcFront, { mode: 0o755 });
  writeFileSync(join(dir, "api-key-helper.sh"), apiKeyHelper, { mode: 0o755 });
  writeFileSync(join(dir, "managed-settings.json"), managedSettingsJson(inputs.settings));
  for (const [name, from] of [
    ["ipc", inputs.ipcPath],
    ["libzmq.so", inputs.libzmqPath],
    ["claude", inputs.claudePath],
  ] as const) {
    copyFileSync(from, join(dir, name));
    chmodSync(join(dir, name), 0o755);
  }
}

export function imageLabelsFor(inputs: AgentImageInputs): Record<string, string> {
  return {
    [IMAGE_LABELS.version]: inputs.carapaceVersion,
    [IMAGE_LABELS.revision]: inputs.revision,
    [IMAGE_LABELS.created]: inputs.created ?? new Date().toISOString(),
    [IMAGE_LABELS.claudeCode]: inputs.claudeCodeVersion,
    [IMAGE_LABELS.recipe]: recipeDigest(inputs.settings),
    ...(inputs.owner === undefined ? {} : { [LABELS.instance]: inputs.owner }),
  };
}

/** Builds the agent image, streaming the build log to onLine, then verifies the labels landed. */
export async function buildAgentImage(
  runtime: ContainerRuntime,
  inputs: AgentImageInputs,
  onLine: (line: string) => void = () => {},
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "carapace-image-"));
  try {
    assembleContext(inputs, dir);
    const labels = imageLabelsFor(inputs);
    onLine(`[IMAGE] building ${inputs.tag} from ${inputs.baseImage} (Claude Code ${inputs.claudeCodeVersion})`);
    await runtime.build(
      {
        contextDir: dir,
        containerfile: join(dir, "Containerfile"),
        tag: inputs.tag,
        buildArgs: {
          BASE_IMAGE: inputs.baseImage,
          CARAPACE_VERSION: inputs.carapaceVersion,
          GIT_SHA: inputs.revision,
          BUILD_DATE: labels[IMAGE_LABELS.created] as string,
          CLAUDE_CODE_VERSION: inputs.claudeCodeVersion,
        },
        labels,
      },
      onLine,
    );
    const state = await imageState(runtime, inputs.tag, {
      carapaceVersion: inputs.carapaceVersion,
      claudeCodeVersion: inputs.claudeCodeVersion,
      revision: inputs.revision,
      recipe: recipeDigest(inputs.settings),
    });
    if (state.state !== "current") {
      throw new ContainerError(
        `the built image ${inputs.tag} does not carry the expected labels (${state.state === "stale" ? state.reasons.join("; ") : "missing"})`,
        "rebuild with `carapace image build`; if it repeats, the runtime drops build-arg labels",
      );
    }
    onLine(`[IMAGE] built ${inputs.tag}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function imageState(runtime: ContainerRuntime, tag: string, expected: ExpectedImage): Promise<ImageState> {
  return labelsState(await runtime.imageLabels(tag), expected);
}

/** What an image's labels (null: no such image) say about it against what this carapace expects. */
export function labelsState(labels: Record<string, string> | null, expected: ExpectedImage): ImageState {
  if (labels === null) return { state: "missing" };
  const reasons: string[] = [];
  const check = (key: string, want: string, what: string) => {
    const have = labels[key];
    if (have !== want) reasons.push(`${what} is ${have ?? "unset"}, expected ${want}`);
  };
  check(IMAGE_LABELS.version, expected.carapaceVersion, "carapace version");
  check(IMAGE_LABELS.claudeCode, expected.claudeCodeVersion, "Claude Code version");
  if (expected.revision !== undefined) check(IMAGE_LABELS.revision, expected.revision, "revision");
  if (expected.recipe !== undefined)
    check(IMAGE_LABELS.recipe, expected.recipe, "image recipe (Containerfile, entrypoint, settings)");
  return reasons.length ? { state: "stale", reasons } : { state: "current" };
}

export type EnsureResult = "current" | "built" | "skipped";

/**
 * The start-up check: a current image is used as is; a missing or stale one is rebuilt, unless
 * SKIP_IMAGE_BUILD=1 (then a stale image is used and a missing one is an error).
 */
export async function ensureAgentImage(
  runtime: ContainerRuntime,
  inputs: AgentImageInputs,
  options: { skipBuild?: boolean; onLine?: (line: string) => void } = {},
): Promise<EnsureResult> {
  const skip = options.skipBuild ?? process.env.SKIP_IMAGE_BUILD === "1";
  const state = await imageState(runtime, inputs.tag, {
    carapaceVersion: inputs.carapaceVersion,
    claudeCodeVersion: inputs.claudeCodeVersion,
    recipe: recipeDigest(inputs.settings),
  });
  if (state.state === "current") return "current";
  if (skip) {
    if (state.state === "missing") {
      throw new ContainerError(
        `the agent image ${inputs.tag} does not exist and SKIP_IMAGE_BUILD=1 forbids building it`,
        "run `carapace image build`, or unset SKIP_IMAGE_BUILD",
      );
    }
    options.onLine?.(
      `[IMAGE] ${inputs.tag} is stale (${state.reasons.join("; ")}); SKIP_IMAGE_BUILD=1, using it anyway`,
    );
    return "skipped";
  }
  await buildAgentImage(runtime, inputs, options.onLine);
  return "built";
}

/** npm's package name of the native Claude Code build for this platform. */
export function claudeCodePackage(arch: string = process.arch): string {
  const a = arch === "arm64" ? "arm64" : arch === "x64" ? "x64" : null;
  if (!a) throw new ContainerError(`no Claude Code build for architecture ${arch}`, "build the image on x64 or arm64");
  return `@anthropic-ai/claude-code-linux-${a}`;
}

/**
 * Fetches the native `claude` executable with `npm pack` into cacheDir/<version>/<arch>/claude, once.
 * The tarball must match the integrity pinned in claude-code-pin.ts, whatever the registry says. Needs registry access; the image build
 * itself does not.
 */
export async function fetchClaudeCode(
  version: string,
  cacheDir: string,
  options: { arch?: string; exec?: Exec; integrity?: string; npmArgs?: string[] } = {},
): Promise<string> {
  const arch = options.arch ?? process.arch;
  const dir = join(cacheDir, version, arch);
  const target = join(dir, "claude");
  if (existsSync(target)) return target;
  const exec = options.exec ?? bunExec;
  mkdirSync(dir, { recursive: true });
  const spec = `${claudeCodePackage(arch)}@${version}`;
  const pack = await exec.run(
    ["npm", "pack", "--silent", ...(options.npmArgs ?? []), "--pack-destination", dir, spec],
    { timeoutMs: 600_000 },
  );
  const tarball = pack.stdout.trim().split("\n").pop() ?? "";
  if (pack.code !== 0 || !tarball) {
    throw new ContainerError(
      `npm pack ${spec} failed (exit ${pack.code}): ${pack.stderr.trim().split("\n").slice(-2).join(" ")}`,
      `check registry access (npm ping) or place the claude binary at ${target}`,
    );
  }
  try {
    verifyClaudeCodeTarball(join(dir, tarball), spec, options.integrity ?? CLAUDE_CODE_INTEGRITY[arch]);
  } catch (error) {
    rmSync(join(dir, tarball), { force: true });
    throw error;
  }
  const untar = await exec.run([
    "tar",
    "-xzf",
    join(dir, tarball),
    "-C",
    dir,
    "--strip-components=1",
    "package/claude",
  ]);
  rmSync(join(dir, tarball), { force: true });
  if (untar.code !== 0 || !existsSync(target)) {
    throw new ContainerError(
      `could not unpack claude from ${tarball}: ${untar.stderr.trim()}`,
      `delete ${dir} and retry`,
    );
  }
  chmodSync(target, 0o755);
  return target;
}
