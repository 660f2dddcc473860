import type { ContainerRuntime } from "./runtime.ts";

/**
 * The labels of each image id, asked of the runtime once per process. An image id is the digest of the
 * image's config, and the labels are part of that config: an id's labels cannot change, so the remembered
 * answer is the fresh one. A rebuilt or swapped image has another id and is asked anew. Which image a tag
 * names is never remembered here (the caller resolves the tag to an id every time).
 */
export class ImageLabelsById {
  private readonly known = new Map<string, Promise<Record<string, string> | null>>();

  /** The labels of the image with this immutable id (`sha256:…`), or null when no such image exists. */
  labels(runtime: ContainerRuntime, id: string): Promise<Record<string, string> | null> {
    const key = `${runtime.name}\0${id}`;
    const known = this.known.get(key);
    if (known) return known;
    const asked = runtime.imageLabels(id);
    this.known.set(key, asked);
    // Only an answer is kept: a missing image or a failed call is asked again next time.
    void asked.then(
      (labels) => labels === null && this.known.delete(key),
      () => this.known.delete(key),
    );
    return asked;
  }
}

/** The core's one cache: its start-up check and its sessions share it. */
export const imageLabelsById = new ImageLabelsById();
