import { CARAPACE_VERSION } from "../config/version.ts";
import { logLine } from "../core/response/log-stream.ts";
import { ContainerError } from "./errors.ts";
import { CLAUDE_CODE_VERSION, type ExpectedImage, type ImageState, labelsState } from "./image.ts";
import { imageIdsByTag, imageLabelsById } from "./image-cache.ts";
import { type PinnedImage, pinImageId } from "./image-pin.ts";
import type { ContainerRuntime } from "./runtime.ts";

/** What this carapace expects of its agent image's labels. */
const EXPECTED: ExpectedImage = { carapaceVersion: CARAPACE_VERSION, claudeCodeVersion: CLAUDE_CODE_VERSION };

/**
 * The agent image under `tag` as the caches in image-cache.ts see it, whose answers are the fresh ones
 * (an unchanged image store; an id's own labels): its id (null when there is no such image) and what its
 * labels say against this carapace. The core's start-up check and its sessions both ask here, so the
 * first session finds the start-up check's answers.
 */
export async function agentImageState(
  runtime: ContainerRuntime,
  tag: string,
): Promise<{ id: string | null; state: ImageState }> {
  const id = await imageIdsByTag.id(runtime, tag);
  if (id === null) return { id, state: { state: "missing" } };
  return { id, state: labelsState(await imageLabelsById.labels(runtime, id), EXPECTED) };
}

/**
 * The image a session runs: the tag's image id, that id's labels current, and the id the pinned one
 * (pinned now on first use; the pin is read fresh every time). With an unchanged store a session asks
 * the runtime nothing (agentImageState).
 */
export async function sessionImage(home: string, runtime: ContainerRuntime, tag: string): Promise<PinnedImage> {
  const { id, state } = await agentImageState(runtime, tag);
  if (id === null || state.state === "missing")
    throw new ContainerError(`the agent image ${tag} does not exist`, "build it with `carapace image build`");
  refuseStaleImage(tag, state);
  return pinImageId(home, tag, id);
}

/**
 * Session start refuses an agent image not built by this carapace (another version, another Claude Code,
 * or no carapace labels at all, e.g. a foreign image put under the tag before anything was pinned).
 * SKIP_IMAGE_BUILD=1 is the development bypass: the image is used anyway, with a warning.
 */
function refuseStaleImage(tag: string, state: ImageState): void {
  if (state.state !== "stale") return;
  if (process.env.SKIP_IMAGE_BUILD === "1") {
    logLine(`[IMAGE] Warning: ${tag} is stale (${state.reasons.join("; ")}); SKIP_IMAGE_BUILD=1, using it anyway`);
    return;
  }
  throw new ContainerError(
    `the agent image ${tag} is stale or not a carapace image (${state.reasons.join("; ")}), so no session runs on it`,
    "rebuild it with `carapace image build`, which also pins its digest",
  );
}
