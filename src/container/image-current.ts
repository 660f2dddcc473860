import { CARAPACE_VERSION } from "../config/version.ts";
import { logLine } from "../core/response/log-stream.ts";
import { ContainerError } from "./errors.ts";
import { CLAUDE_CODE_VERSION, labelsState } from "./image.ts";
import { imageIdsByTag, imageLabelsById } from "./image-cache.ts";
import { type PinnedImage, pinImageId } from "./image-pin.ts";
import type { ContainerRuntime } from "./runtime.ts";

/**
 * The image a session runs: the tag's image id, that id's labels current, and the id the pinned one
 * (pinned now on first use; the pin is read fresh every time). The id and labels come from the caches
 * in image-cache.ts, whose answers are the fresh ones (an unchanged image store; an id's own labels):
 * with an unchanged store a session asks the runtime nothing.
 */
export async function sessionImage(home: string, runtime: ContainerRuntime, tag: string): Promise<PinnedImage> {
  const id = await imageIdsByTag.id(runtime, tag);
  if (!id) throw new ContainerError(`the agent image ${tag} does not exist`, "build it with `carapace image build`");
  await refuseStaleImage(runtime, tag, id);
  return pinImageId(home, tag, id);
}

/**
 * Session start refuses an agent image not built by this carapace (another version, another Claude Code,
 * or no carapace labels at all, e.g. a foreign image put under the tag before anything was pinned).
 * SKIP_IMAGE_BUILD=1 is the development bypass: the image is used anyway, with a warning.
 */
export async function refuseStaleImage(
  runtime: ContainerRuntime,
  tag: string,
  id: string,
  warn: (line: string) => void = (line) => logLine(line),
): Promise<void> {
  const state = labelsState(await imageLabelsById.labels(runtime, id), {
    carapaceVersion: CARAPACE_VERSION,
    claudeCodeVersion: CLAUDE_CODE_VERSION,
  });
  if (state.state === "current") return;
  if (state.state === "missing")
    throw new ContainerError(`the agent image ${tag} does not exist`, "build it with `carapace image build`");
  if (process.env.SKIP_IMAGE_BUILD === "1") {
    warn(`[IMAGE] Warning: ${tag} is stale (${state.reasons.join("; ")}); SKIP_IMAGE_BUILD=1, using it anyway`);
    return;
  }
  throw new ContainerError(
    `the agent image ${tag} is stale or not a carapace image (${state.reasons.join("; ")}), so no session runs on it`,
    "rebuild it with `carapace image build`, which also pins its digest",
  );
}
