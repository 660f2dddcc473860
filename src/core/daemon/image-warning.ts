import { CARAPACE_VERSION } from "../../config/version.ts";
import { detectRuntimeOnce } from "../../container/detect.ts";
import { CLAUDE_CODE_VERSION, labelsState } from "../../container/image.ts";
import { imageIdsByTag, imageLabelsById } from "../../container/image-cache.ts";
import { logLine } from "../response/log-stream.ts";

/**
 * The start-up staleness check, off the critical path: the core serves at once; the user is told when
 * the agent image is missing or stale (SKIP_IMAGE_BUILD=1 silences it). Sessions need the image, not the core.
 */
export async function warnIfImageNotCurrent(
  engine: "auto" | "podman" | "docker" | "apple",
  image: string,
): Promise<void> {
  if (process.env.SKIP_IMAGE_BUILD === "1") return;
  const warn = (text: string) => logLine(text, { level: "warn" });
  try {
    const { runtime } = await detectRuntimeOnce({ preference: engine });
    // Through the sessions' caches: the first session finds its answers there when the store is unchanged.
    const id = await imageIdsByTag.id(runtime, image);
    const state = labelsState(id === null ? null : await imageLabelsById.labels(runtime, id), {
      carapaceVersion: CARAPACE_VERSION,
      claudeCodeVersion: CLAUDE_CODE_VERSION,
    });
    if (state.state === "missing")
      warn(`[IMAGE] ${image} is missing: agent sessions cannot start. Build it with \`carapace image build\`.`);
    if (state.state === "stale")
      warn(`[IMAGE] ${image} is stale (${state.reasons.join("; ")}). Rebuild it with \`carapace image build\`.`);
  } catch (e) {
    warn(`[CONTAINER] ${(e as Error).message}`);
  }
}
