/**
 * The agent image for real-runtime tests: reused when present and current (labels), otherwise built
 * once from local inputs (dist/ipc, the cached Claude Code, libzmq). Nothing is fetched here; when an
 * input is missing the tests skip and name the command that provides it.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { CLAUDE_CACHE_DIR, gitRevision, recipeImageTag, repoVersion } from "../../build/image/agent.ts";
import { CLAUDE_CODE_VERSION, ensureAgentImage, imageState, recipeDigest } from "../../src/container/image.ts";
import { BASE_IMAGE, hasPodman, podmanSkipReason, realPodman } from "./podman-env.ts";

const root = join(import.meta.dir, "../..");

/**
 * The image tests run is tagged with this clone's recipe digest (recipeImageTag), never the shared release
 * tag, so a clone with a changed recipe builds its own image instead of overwriting everybody's.
 */
export async function testAgentImage(): Promise<{ tag: string; skipReason: string | null }> {
  const ipcPath = process.env.CARAPACE_TEST_IPC ?? join(root, "dist/ipc");
  const tag = recipeImageTag(ipcPath);
  if (!hasPodman) return { tag, skipReason: podmanSkipReason };
  const claudePath = join(CLAUDE_CACHE_DIR, CLAUDE_CODE_VERSION, process.arch, "claude");
  const libzmqPath = join(root, "build/.generated/libzmq.so");
  const runtime = realPodman();
  const state = await imageState(runtime, tag, {
    carapaceVersion: repoVersion(),
    claudeCodeVersion: CLAUDE_CODE_VERSION,
    recipe: recipeDigest(),
  });
  if (state.state !== "current") {
    const missing = [
      [ipcPath, "bun run build"],
      [claudePath, "bun build/image/agent.ts --fetch-only"],
      [libzmqPath, "bun build/prepare-libzmq.ts"],
    ].find(([p]) => !existsSync(p as string));
    if (missing)
      return { tag, skipReason: `agent image ${tag} is not built and ${missing[0]} is missing (run: ${missing[1]})` };
  }
  await ensureAgentImage(
    runtime,
    {
      tag,
      baseImage: BASE_IMAGE,
      carapaceVersion: repoVersion(),
      revision: gitRevision(),
      claudeCodeVersion: CLAUDE_CODE_VERSION,
      ipcPath,
      libzmqPath,
      claudePath,
    },
    { skipBuild: false, onLine: () => {} },
  );
  return { tag, skipReason: null };
}
