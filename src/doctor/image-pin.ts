import type { loadConfig } from "../config/load.ts";
import { CARAPACE_VERSION } from "../config/version.ts";
import { detectRuntime } from "../container/detect.ts";
import { readImagePin } from "../container/image-pin.ts";
import type { CheckResult } from "./check.ts";

const ID = "image.pin";
const TITLE = "agent image digest";

/** The digest sessions are pinned to, and whether the tag still points at it (sessions refuse a mismatch). */
export async function checkImagePin(home: string, config: ReturnType<typeof loadConfig> | null): Promise<CheckResult> {
  const tag = config?.runtime.image ?? `localhost/carapace-agent:${CARAPACE_VERSION}`;
  const pin = readImagePin(home);
  if (!pin || pin.tag !== tag)
    return {
      id: ID,
      title: TITLE,
      level: "warn",
      detail: `no digest is pinned for ${tag}${pin ? ` (the pin is for ${pin.tag})` : ""}; the first session pins whatever the tag points at then`,
      fix: "run `carapace image build`, which builds the image and pins its digest",
    };
  let current: string | null;
  try {
    const { runtime } = await detectRuntime({ preference: (config?.runtime.engine ?? "auto") as "auto" });
    current = await runtime.imageId(tag);
  } catch (e) {
    return {
      id: ID,
      title: TITLE,
      level: "warn",
      detail: `pinned ${pin.id}; the runtime could not be asked: ${(e as Error).message}`,
      fix: "check the container runtime",
    };
  }
  if (current === pin.id)
    return {
      id: ID,
      title: TITLE,
      level: "pass",
      detail: `pinned ${pin.id} (${pin.how}, ${pin.pinnedAt}); ${tag} matches`,
    };
  return {
    id: ID,
    title: TITLE,
    level: "fail",
    detail: `pinned ${pin.id}, but ${tag} is ${current ?? "missing"}: sessions refuse to start`,
    fix: "rebuild it with `carapace image build`, which pins the new digest",
  };
}
