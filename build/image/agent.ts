/**
 * Builds the agent image reproducibly: fetches the pinned Claude Code (npm pack, once, cached in
 * build/.generated/claude-code), then builds with the local runtime from the given base.
 *
 *   bun build/image/agent.ts [--ipc dist/ipc] [--base localhost/carapace-base:bookworm] [--tag T] [--fetch-only]
 *   bun build/image/agent.ts --print-recipe-tag     (prints recipeImageTag() and exits)
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { detectRuntime } from "../../src/container/detect.ts";
import {
  agentImageTag,
  buildAgentImage,
  CLAUDE_CODE_VERSION,
  fetchClaudeCode,
  recipeDigest,
} from "../../src/container/image.ts";
import { prepareLibzmq } from "../prepare-libzmq.ts";

const root = join(import.meta.dir, "..", "..");

export function repoVersion(): string {
  return (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string }).version;
}

export function gitRevision(): string {
  const r = Bun.spawnSync(["git", "-C", root, "rev-parse", "HEAD"], { stderr: "ignore" });
  return r.exitCode === 0 ? r.stdout.toString().trim() : "unknown";
}

/**
 * The tag tests build and run: the release tag plus a digest of the recipe (Containerfile, entrypoint,
 * front script, managed settings) and of the ipc and libzmq copied into the image, so clones with
 * different recipes or clients on one machine never overwrite each other's image, and a changed ipc is
 * never tested through a stale image.
 */
export function recipeImageTag(ipcPath: string = join(root, "dist/ipc")): string {
  const digest = createHash("sha256").update(recipeDigest());
  for (const path of [ipcPath, join(root, "build/.generated/libzmq.so")]) {
    if (existsSync(path)) digest.update("\0").update(readFileSync(path));
  }
  return `${agentImageTag(repoVersion())}-${digest.digest("hex").slice(0, 12)}`;
}

export const CLAUDE_CACHE_DIR = join(root, "build/.generated/claude-code");

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      ipc: { type: "string", default: join(root, "dist/ipc") },
      base: { type: "string", default: "localhost/carapace-base:bookworm" },
      tag: { type: "string" },
      "fetch-only": { type: "boolean", default: false },
      "print-recipe-tag": { type: "boolean", default: false },
    },
  });
  if (values["print-recipe-tag"]) {
    console.log(recipeImageTag(values.ipc as string));
    return;
  }
  const claudePath = await fetchClaudeCode(CLAUDE_CODE_VERSION, CLAUDE_CACHE_DIR);
  console.error(`[IMAGE] Claude Code ${CLAUDE_CODE_VERSION}: ${claudePath}`);
  if (values["fetch-only"]) return;
  const libzmq = join(root, "build/.generated/libzmq.so");
  const libzmqPath = existsSync(libzmq) ? libzmq : prepareLibzmq();
  const { runtime } = await detectRuntime();
  await buildAgentImage(
    runtime,
    {
      tag: values.tag ?? agentImageTag(repoVersion()),
      baseImage: values.base as string,
      carapaceVersion: repoVersion(),
      revision: gitRevision(),
      claudeCodeVersion: CLAUDE_CODE_VERSION,
      ipcPath: values.ipc as string,
      libzmqPath,
      claudePath,
    },
    (line) => console.error(line),
  );
}

if (import.meta.main) {
  main().catch((err: Error) => {
    console.error(err.message);
    process.exit(1);
  });
}
