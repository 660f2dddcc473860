/**
 * `carapace update`: explicit only (carapace never checks for updates on its own). Fetches the signed
 * release index, refuses a downgrade unless asked, downloads into a staging directory under
 * $CARAPACE_HOME, verifies every file with the embedded release key, proves the new binary runs, swaps
 * carapace and ipc in atomically, then runs the new `carapace doctor`. Any failure before the swap
 * leaves the old install untouched; a failure during it restores the old files.
 */
import { mkdirSync, mkdtempSync, realpathSync, rmSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline/promises";
import { defineCommand } from "citty";
import { homePath } from "../config/home.ts";
import { CARAPACE_VERSION } from "../config/version.ts";
import { readImagePin } from "../container/image-pin.ts";
import { IS_COMPILED } from "../platform/compiled.ts";
import { fetchReleaseFile } from "../release/download.ts";
import { ReleaseError } from "../release/errors.ts";
import {
  carapaceArtifact,
  checkBaseUrl,
  hostPlatform,
  ipcArtifact,
  RELEASE_BASE_URL,
  RELEASE_FILES,
  releaseFileUrl,
} from "../release/layout.ts";
import { discardStaged, stageBeside, swapInto } from "../release/swap.ts";
import { planUpdate, verifyArtifact, verifyReleaseIndex } from "../release/verify.ts";
import { normalizeVersion } from "../release/version.ts";
import { CliError, EXIT } from "./errors.ts";
import { progress } from "./progress.ts";
import { withHome } from "./run-command.ts";

export interface UpdateOptions {
  version?: string;
  allowDowngrade: boolean;
  baseUrl: string;
  yes: boolean;
}

const say = (line: string) => process.stdout.write(`${line}\n`);

/** The executable to replace: this very binary. A `bun run` of the sources has nothing to replace. */
function runningExecutable(): string {
  if (!IS_COMPILED) {
    throw new CliError(
      "UPDATE",
      "this carapace runs from source under bun, so there is no installed binary to update",
      "update the checkout (git pull, bun run build) or run the installed carapace",
      EXIT.usage,
    );
  }
  return realpathSync(process.execPath);
}

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = (await rl.question(`${question} [y/N] `)).trim().toLowerCase();
    return answer === "y" || answer === "yes";
  } finally {
    rl.close();
  }
}

function runVersion(binary: string): string {
  const run = Bun.spawnSync([binary, "--version"], { stdout: "pipe", stderr: "pipe", timeout: 30_000 });
  return run.exitCode === 0 ? run.stdout.toString().trim() : `exit ${run.exitCode}`;
}

export async function runUpdate(home: string, options: UpdateOptions): Promise<number> {
  let base: string;
  try {
    base = checkBaseUrl(options.baseUrl);
  } catch (error) {
    const { what, fix } = error as ReleaseError;
    throw new CliError("UPDATE", what, fix, EXIT.usage);
  }
  const requested = options.version === undefined ? undefined : normalizeVersion(options.version);
  if (options.version !== undefined && !requested) {
    throw new CliError("UPDATE", `--version ${options.version} is not a version`, "write it as v1.2.3", EXIT.usage);
  }
  const executable = runningExecutable();
  const { os, arch } = hostPlatform();
  const url = (file: string) => releaseFileUrl(base, requested, file);

  const [checksums, signature, version] = await Promise.all([
    fetchReleaseFile(url(RELEASE_FILES.checksums), 1024 * 1024),
    fetchReleaseFile(url(RELEASE_FILES.signature), 1024),
    fetchReleaseFile(url(RELEASE_FILES.version), 1024),
  ]);
  const release = verifyReleaseIndex({ checksums, signature, version });
  const plan = planUpdate(CARAPACE_VERSION, release.version, {
    requested: requested ?? undefined,
    allowDowngrade: options.allowDowngrade,
  });
  if (plan.action === "current") {
    say(`carapace v${CARAPACE_VERSION} is up to date (signed release v${release.version} at ${base}).`);
    return EXIT.ok;
  }
  const question = `${plan.action === "upgrade" ? "Update" : "Downgrade"} carapace v${CARAPACE_VERSION} to v${release.version}?`;
  if (!options.yes) {
    if (!process.stdin.isTTY) {
      throw new CliError(
        "UPDATE",
        `going from v${CARAPACE_VERSION} to v${release.version} needs a confirmation and stdin is not a terminal`,
        "pass --yes",
        EXIT.usage,
      );
    }
    if (!(await confirm(question))) {
      say("Cancelled: nothing was changed.");
      return EXIT.ok;
    }
  }

  mkdirSync(homePath(home, "cache"), { recursive: true, mode: 0o700 });
  const staging = mkdtempSync(join(homePath(home, "cache"), "update-"));
  let staged: string[] = [];
  try {
    const names = [carapaceArtifact(os, arch), ipcArtifact(arch)] as const;
    const shown = progress("downloading the release");
    const received = [0, 0];
    const totals = [0, 0];
    const mb = (n: number) => (n / 1_000_000).toFixed(0);
    const [binary, ipc] = await Promise.all(
      names.map((name, i) =>
        fetchReleaseFile(url(name), undefined, (got, total) => {
          received[i] = got;
          totals[i] = total;
          const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
          shown.detail(`${mb(sum(received))} of ${mb(sum(totals))} MB`);
        }),
      ),
    ).then(
      (files) => {
        shown.end("downloaded");
        return files;
      },
      (error: unknown) => {
        shown.end("the download failed");
        throw error;
      },
    );
    verifyArtifact(release, names[0], binary as Uint8Array);
    verifyArtifact(release, names[1], ipc as Uint8Array);
    const replacements = [
      { target: join(homePath(home, "lib"), names[1]), data: ipc as Uint8Array },
      { target: executable, data: binary as Uint8Array },
    ];
    staged = stageBeside(replacements);
    const reported = runVersion(staged[1] as string);
    if (reported !== release.version) {
      throw new ReleaseError(
        `the new ${names[0]} reports ${JSON.stringify(reported)} instead of ${release.version}`,
        "report this release; nothing was changed",
      );
    }
    swapInto(replacements, staged);
    staged = [];
  } finally {
    discardStaged(staged);
    rmSync(staging, { recursive: true, force: true });
  }

  say(`Updated carapace v${CARAPACE_VERSION} → v${release.version} (${executable}; signature and checksums verified).`);
  // Image pinning: a home that runs agent sessions gets the matching image rebuilt with the new ipc and re-pinned.
  if (readImagePin(home)) {
    say("Rebuilding the agent image for the new version (carapace image build):");
    const build = Bun.spawnSync([executable, "image", "build"], {
      stdout: "inherit",
      stderr: "inherit",
      timeout: 1_800_000,
    });
    say(
      build.exitCode === 0
        ? "agent image rebuilt and pinned."
        : "the image build failed; sessions keep refusing a mismatched image. Fix: run `carapace image build`.",
    );
  } else {
    say("Next: run `carapace image build` so the agent image carries the new ipc (it pins the image's digest).");
  }
  say("Running carapace doctor:");
  const doctor = Bun.spawnSync([executable, "doctor"], { stdout: "inherit", stderr: "inherit", timeout: 120_000 });
  say(
    doctor.exitCode === 0
      ? "doctor: no failures."
      : `doctor reported failures (exit ${doctor.exitCode}); the update itself is complete. Fix what it lists above.`,
  );
  return EXIT.ok;
}

export const updateCommand = defineCommand({
  meta: {
    name: "update",
    description:
      "Update carapace and ipc to a signed release (explicit only; carapace never checks on its own).\n" +
      "Exit codes: 0 updated, already up to date, or cancelled; 1 failed (the old install is untouched); 2 usage.",
  },
  args: {
    version: { type: "string", description: "Install this release (vX.Y.Z) instead of the latest" },
    "allow-downgrade": { type: "boolean", description: "Allow going back to an older release", default: false },
    "base-url": { type: "string", description: "https:// mirror of the releases", default: RELEASE_BASE_URL },
    yes: { type: "boolean", alias: "y", description: "Do not ask for confirmation", default: false },
  },
  run: ({ args }) =>
    withHome((home) =>
      runUpdate(home, {
        version: args.version,
        allowDowngrade: args["allow-downgrade"],
        baseUrl: args["base-url"],
        yes: args.yes,
      }),
    ),
});
