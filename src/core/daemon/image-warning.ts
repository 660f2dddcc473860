import { detectRuntimeOnce } from "../../container/detect.ts";
import { agentImageState } from "../../container/image-current.ts";
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
    const { state } = await agentImageState(runtime, image);
    if (state.state === "missing")
      warn(`[IMAGE] ${image} is missing: agent sessions cannot start. Build it with \`carapace image build\`.`);
    if (state.state === "stale")
      warn(`[IMAGE] ${image} is stale (${state.reasons.join("; ")}). Rebuild it with \`carapace image build\`.`);
  } catch (e) {
    warn(`[CONTAINER] ${(e as Error).message}`);
  }
}
