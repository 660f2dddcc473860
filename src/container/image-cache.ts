import type { ContainerRuntime } from "./runtime.ts";

/**
 * The labels of each image id, asked of the runtime once per process. An image id is the digest of the
 * image's config, and the labels are part of that config: an id's labels cannot change, so the remembered
 * answer is the fresh one. A rebuilt or swapped image has another id and is asked anew.
 */
export class ImageLabelsById {
  private readonly known = new Map<string, Promise<Record<string, string> | null>>();

  /** The labels of the image with this immutable id (`sha256:…`), or null when no such image exists. */
  labels(runtime: ContainerRuntime, id: string): Promise<Record<string, string> | null> {
    return remembered(this.known, `${runtime.name}\0${id}`, () => runtime.imageLabels(id));
  }

  /** Labels the runtime gave together with this id (one look at one image): the same answer. */
  learn(runtime: ContainerRuntime, id: string, labels: Record<string, string>): void {
    const key = `${runtime.name}\0${id}`;
    if (!this.known.has(key)) this.known.set(key, Promise.resolve(labels));
  }
}

/**
 * Which image id a tag names, asked of the runtime again whenever the runtime's image store stamp has
 * changed since the answer (and every time for a runtime without one). Every tag, build, pull or removal
 * changes the stamp, so an unchanged stamp means the store, and so the tag's image, is what it was when
 * the answer was asked for: the remembered id is the one a fresh lookup would give.
 */
export class ImageIdsByTag {
  private readonly known = new Map<string, { stamp: string; id: Promise<string | null> }>();

  /** `labels` learns the labels of each image looked up here: a first session needs no second look. */
  constructor(private readonly labels: ImageLabelsById) {}

  id(runtime: ContainerRuntime, tag: string): Promise<string | null> {
    // Read before the lookup: a change during the lookup leaves the next stamp different from this one.
    const stamp = runtime.imageStoreStamp();
    const key = `${runtime.name}\0${tag}`;
    const known = this.known.get(key);
    if (stamp !== null && known?.stamp === stamp) return known.id;
    const id = runtime.image(tag).then((image) => {
      if (image) this.labels.learn(runtime, image.id, image.labels);
      return image?.id ?? null;
    });
    if (stamp === null) {
      this.known.delete(key);
      return id;
    }
    const entry = { stamp, id };
    this.known.set(key, entry);
    const forget = () => this.known.get(key) === entry && this.known.delete(key);
    void id.then((found) => found === null && forget(), forget);
    return id;
  }
}

/** Only an answer is kept: a missing image or a failed call is asked again next time. */
function remembered<T>(known: Map<string, Promise<T | null>>, key: string, ask: () => Promise<T | null>) {
  const hit = known.get(key);
  if (hit) return hit;
  const asked = ask();
  known.set(key, asked);
  const forget = () => known.get(key) === asked && known.delete(key);
  void asked.then((value) => value === null && forget(), forget);
  return asked;
}

/** The core's caches: its start-up check and its sessions share them. */
export const imageLabelsById = new ImageLabelsById();
export const imageIdsByTag = new ImageIdsByTag(imageLabelsById);
