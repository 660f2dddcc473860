import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { homePath } from "../config/home.ts";
import { ContainerError } from "./errors.ts";
import type { ContainerRuntime } from "./runtime.ts";

/** The digest the agent image had when it was built (or first used): sessions run exactly that image. */
export interface ImagePin {
  tag: string;
  id: string;
  pinnedAt: string;
  how: "build" | "first-use";
}

export function imagePinPath(home: string): string {
  return join(homePath(home, "data/core"), "image-pin.json");
}

export function readImagePin(home: string): ImagePin | null {
  const path = imagePinPath(home);
  if (!existsSync(path)) return null;
  try {
    const pin = JSON.parse(readFileSync(path, "utf8")) as ImagePin;
    return typeof pin.tag === "string" && typeof pin.id === "string" ? pin : null;
  } catch {
    return null;
  }
}

export function writeImagePin(home: string, pin: ImagePin): void {
  const path = imagePinPath(home);
  // A fresh install has no data/core yet when `carapace image build` runs before the first start.
  mkdirSync(homePath(home, "data/core"), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(pin, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
}

/** Records the tag's current digest after `carapace image build`. */
export async function pinBuiltImage(home: string, runtime: ContainerRuntime, tag: string): Promise<ImagePin> {
  const id = await runtime.imageId(tag);
  if (!id)
    throw new ContainerError(`the image ${tag} was not found after the build`, "run `carapace image build` again");
  const pin: ImagePin = { tag, id, pinnedAt: new Date().toISOString(), how: "build" };
  writeImagePin(home, pin);
  return pin;
}

export interface PinnedImage {
  id: string;
  pinned: "existing" | "first-use";
}

/**
 * The immutable image id a session must run. A tag whose digest differs from the pin is refused;
 * with no pin yet (an image built outside `carapace image build`), the current digest is pinned on first use.
 */
export async function resolvePinnedImage(home: string, runtime: ContainerRuntime, tag: string): Promise<PinnedImage> {
  const id = await runtime.imageId(tag);
  if (!id) throw new ContainerError(`the agent image ${tag} does not exist`, "build it with `carapace image build`");
  return pinImageId(home, tag, id);
}

/** resolvePinnedImage for a tag already resolved to `id`; the pin is read fresh every time. */
export function pinImageId(home: string, tag: string, id: string): PinnedImage {
  const pin = readImagePin(home);
  if (pin && pin.tag === tag) {
    if (pin.id !== id) {
      throw new ContainerError(
        `the agent image ${tag} is ${id.slice(0, 19)}…, not the pinned ${pin.id.slice(0, 19)}… (it was replaced after it was pinned)`,
        "rebuild it with `carapace image build`, which pins the new digest",
      );
    }
    return { id, pinned: "existing" };
  }
  writeImagePin(home, { tag, id, pinnedAt: new Date().toISOString(), how: "first-use" });
  return { id, pinned: "first-use" };
}
